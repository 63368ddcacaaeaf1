"""Scaled out: two web processes and three workers on PostgreSQL + Redis, one worker killed.

    .venv/bin/python bench/bench_scale.py   # starts its own PostgreSQL and Redis (tests/servers.py)

200 clients each submit an async video (POST /v1/async/videos/generations, 2 credits) at
the same moment, spread over two gunicorn processes, on a workspace whose balance covers 150.
Exactly 150 must be accepted and 50 refused with 402; every accepted job must complete with
one charge, though one of the three django-q2 workers is SIGKILLed once a third are done. The
clients poll GET /v1/tasks/{id} as an API client would. The baseline, in the same run: the
same load on one machine's defaults (`make run`: SQLite, the ORM broker, one web process,
one worker) with nothing killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SUBMITS, COVERED = 200, 150
VIDEO = {"model": "veo", "duration": 2, "size": "320x180"}
WEB = ["--workers", "2", "--threads", "8", "--timeout", "60"]
Q_WORKERS = "2"  # per worker (cluster): 2 render processes each, on a 2-core machine


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Studio:
    """A throwaway studio: its data directory, `webs` gunicorns and `workers` clusters."""

    def __init__(self, env: dict, webs: int, workers: int):
        self.data = Path(tempfile.mkdtemp(prefix="studio-bench-scale-"))
        self.env = {
            **os.environ,
            **env,
            "STUDIO_DATA_DIR": str(self.data),
            "SECRET_KEY": "bench-scale",
            "API_RATE_LIMIT": "1000000",
            "API_RATE_BURST": "1000000",
            "Q_WORKERS": Q_WORKERS,
            "Q_LOG_LEVEL": "ERROR",
            "LOG_LEVEL": "WARNING",
        }
        self.webs, self.workers = webs, workers
        self.procs: dict[str, subprocess.Popen] = {}
        self.urls: list[str] = []

    def manage(self, *args: str, **env: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **env},
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def prepare(self) -> str:
        """Migrate, make the demo workspace with credits for exactly COVERED videos (its
        starter pack); return an API key."""
        self.manage("migrate", "--noinput")
        price = Decimal(json.loads(self.manage("quote", json.dumps(VIDEO)))["credits"])
        self.manage("seed_demo", STARTER_CREDITS=str(price * COVERED))
        return self.manage("create_api_key", "--username", "demo").strip().splitlines()[-1]

    def start(self) -> None:
        from tests.servers import free_port

        for i in range(self.webs):
            port = free_port()
            self.procs[f"web{i}"] = self._spawn(
                ["-m", "gunicorn", "studio.wsgi", "--bind", f"127.0.0.1:{port}", *WEB]
            )
            self.urls.append(f"http://127.0.0.1:{port}")
        for i in range(self.workers):
            self.procs[f"worker{i}"] = self._spawn(["manage.py", "qcluster"])
        for url in self.urls:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not start")
                time.sleep(0.2)

    def _spawn(self, args: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def kill(self, name: str) -> None:
        """SIGKILL a whole worker cluster at once, like its machine losing power."""
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(self.data, ignore_errors=True)


def fire(studio: Studio, key: str) -> tuple[list[tuple[int, float, str]], float]:
    """SUBMITS submits released at once, alternating between the web processes."""
    client = httpx.Client(
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
        limits=httpx.Limits(max_connections=SUBMITS),
    )
    start = threading.Barrier(SUBMITS + 1)

    def submit(i: int) -> tuple[int, float, str]:
        start.wait()
        began = time.perf_counter()
        r = client.post(
            f"{studio.urls[i % len(studio.urls)]}/v1/async/videos/generations",
            json={**VIDEO, "prompt": f"waves at dusk, take {i}"},
        )
        took = (time.perf_counter() - began) * 1000
        return r.status_code, took, r.json().get("id", "") if r.status_code == 200 else ""

    with ThreadPoolExecutor(SUBMITS) as pool:
        futures = [pool.submit(submit, i) for i in range(SUBMITS)]
        start.wait()
        began = time.perf_counter()
        results = [f.result() for f in futures]
        wall = time.perf_counter() - began
    client.close()
    return results, wall


def follow(studio: Studio, key: str, ids: list[str], kill: str | None) -> dict:
    """Poll every task through the API until all have ended; kill `kill` a third of the way."""
    client = httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    began = time.monotonic()
    status: dict[str, dict] = {}
    killed_at = None
    killed_done = 0
    while len(status) < len(ids):
        pending = [i for i in ids if i not in status]
        for n, task_id in enumerate(pending):
            r = client.get(f"{studio.urls[n % len(studio.urls)]}/v1/tasks/{task_id}")
            if r.json()["status"] in ("completed", "failed"):
                status[task_id] = r.json()
        if kill and killed_at is None and len(status) >= len(ids) // 3:
            studio.kill(kill)
            killed_at, killed_done = time.monotonic() - began, len(status)
        if time.monotonic() - began > 600:
            raise RuntimeError(f"{len(ids) - len(status)} tasks still running after 10 minutes")
        time.sleep(1)
    client.close()
    return {
        "done_s": time.monotonic() - began,
        "killed_at_s": killed_at,
        "done_at_kill": killed_done,
        "statuses": sorted({t["status"] for t in status.values()}),
        "charged": sorted({t["usage"]["credits"] for t in status.values()}),
    }


LEDGER_CHECKS = """
import json
from django.db.models import Count
from studio.accounts.models import Workspace
from studio.credits import ledger
from studio.credits.models import LedgerEntry
from studio.generations.models import Job
from studio.providers.models import LocalTask

ws = Workspace.objects.get(name="Demo studio")
captures = LedgerEntry.objects.filter(kind="capture").values("job").annotate(n=Count("id"))
print(json.dumps({
    "jobs": Job.objects.count(),
    "completed": Job.objects.filter(status="completed").count(),
    "captures_per_job": sorted({row["n"] for row in captures}),
    "balance": str(ledger.balance(ws)),
    "ledger_total": str(ledger.ledger_total(ws)),
    "renders_redone": LocalTask.objects.filter(attempt__gt=1).count(),
}))
"""


def ledger_checks(studio: Studio) -> dict:
    """What the database says: one capture per job, nothing reserved, a zero balance."""
    return json.loads(studio.manage("shell", "-v0", "-c", LEDGER_CHECKS).strip().splitlines()[-1])


def scenario(name: str, env: dict, webs: int, workers: int, kill: str | None) -> dict:
    studio = Studio(env, webs, workers)
    try:
        key = studio.prepare()
        studio.start()
        results, wall = fire(studio, key)
        codes = [code for code, _, _ in results]
        ids = [task_id for code, _, task_id in results if code == 200]
        latencies = [ms for _, ms, _ in results]
        followed = follow(studio, key, ids, kill)
        checks = ledger_checks(studio)
    finally:
        studio.stop()
    return {
        "setup": name,
        "accepted": codes.count(200),
        "refused_402": codes.count(402),
        "other": len(codes) - codes.count(200) - codes.count(402),
        "submit_wall_s": round(wall, 2),
        "submit_p50_ms": round(percentile(latencies, 50)),
        "submit_p95_ms": round(percentile(latencies, 95)),
        **{k: round(v, 1) if isinstance(v, float) else v for k, v in followed.items()},
        **checks,
    }


def verify(result: dict) -> list[str]:
    """The promises: exactly COVERED accepted, all completed, each charged once, 0 left."""
    expected = {
        "accepted": COVERED,
        "refused_402": SUBMITS - COVERED,
        "other": 0,
        "statuses": ["completed"],
        "completed": COVERED,
        "captures_per_job": [1],
        "balance": "0.00",
        "ledger_total": "0.00",
    }
    return [f"{k}: {result[k]!r} != {v!r}" for k, v in expected.items() if result[k] != v]


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from tests import servers

    runs = [scenario("SQLite, 1 web, 1 worker", {}, webs=1, workers=1, kill=None)]
    with servers.running() as urls:
        runs.append(scenario("PostgreSQL + Redis, 2 web, 3 workers", urls, 2, 3, "worker0"))
    print(
        "| setup | accepted | refused (402) | submits took s | submit p50 ms | p95 ms "
        "| worker killed at s (jobs done) | all done s | captures per job | balance after |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---|---:|")
    for r in runs:
        killed = f"{r['killed_at_s']} ({r['done_at_kill']})" if r["killed_at_s"] else "—"
        print(
            f"| {r['setup']} | {r['accepted']} | {r['refused_402']} | {r['submit_wall_s']} "
            f"| {r['submit_p50_ms']} | {r['submit_p95_ms']} | {killed} | {r['done_s']} "
            f"| {r['captures_per_job']} | {r['balance']} |"
        )
    failures = []
    for r in runs:
        print(json.dumps(r))
        failures += [f"{r['setup']}: {problem}" for problem in verify(r)]
    if failures:
        sys.exit("\n".join(failures))

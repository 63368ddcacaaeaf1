"""The /v1 API over real HTTP: gunicorn and a django-q2 worker, as `make run` starts them.

    .venv/bin/python bench/bench_api.py

Latency of a read (GET /v1/models), of a sync image (POST /v1/images/generations: pricing,
reservation, the local render, storage and capture, all inside the request), throughput
with 8 clients, and the end-to-end wait for an async 720p video (submit → completed, the
render in the worker and the poller noticing it included).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from _scratch import ROOT, percentile, setup

data = setup()
from django.core.management import call_command  # noqa: E402

PORT = 8791
BASE = f"http://127.0.0.1:{PORT}"


def start_server() -> subprocess.Popen:
    env = {
        **os.environ,
        "API_RATE_BURST": "1000000",
        "API_RATE_LIMIT": "1000000",
        "Q_LOG_LEVEL": "ERROR",
    }
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runstudio", "--bind", f"127.0.0.1:{PORT}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(150):  # healthy once the web answers and the worker has beaten
        try:
            if httpx.get(f"{BASE}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def timings(call, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def row(name: str, ms: list[float]) -> str:
    return (
        f"| {name} | {statistics.median(ms):.0f} | {percentile(ms, 95):.0f} | "
        f"{1000 / statistics.mean(ms):.1f} |"
    )


if __name__ == "__main__":
    import io

    out = io.StringIO()
    call_command("create_api_key", "--username", "demo", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    call_command(
        "grant_credits", "--workspace", "Demo studio", "--credits", "100000", stdout=io.StringIO()
    )
    server = start_server()
    try:
        api = httpx.Client(
            base_url=f"{BASE}/v1", headers={"Authorization": f"Bearer {key}"}, timeout=120
        )

        def models():
            assert api.get("/models").status_code == 200

        def image():
            r = api.post(
                "/images/generations",
                json={"model": "nano-banana", "prompt": "a red bicycle", "size": "1:1"},
            )
            assert r.status_code == 200, r.text

        timings(models, 5)
        timings(image, 2)
        print("| request | p50 ms | p95 ms | per second, one client |")
        print("|---|---:|---:|---:|")
        print(row("GET /v1/models", timings(models, 200)))
        print(row("POST /v1/images/generations (1344×768 local render)", timings(image, 30)))

        with ThreadPoolExecutor(8) as pool:
            start = time.perf_counter()
            list(pool.map(lambda _: models(), range(400)))
            reads = 400 / (time.perf_counter() - start)
            start = time.perf_counter()
            list(pool.map(lambda _: image(), range(40)))
            images = 40 / (time.perf_counter() - start)
        print()
        print("| 8 concurrent clients | per second |")
        print("|---|---:|")
        print(f"| GET /v1/models | {reads:.0f} |")
        print(f"| POST /v1/images/generations | {images:.1f} |")

        waits = []
        for _ in range(3):
            start = time.perf_counter()
            task = api.post(
                "/async/videos/generations", json={"model": "veo", "prompt": "waves", "duration": 2}
            ).json()
            while task["status"] not in ("completed", "failed"):
                time.sleep(0.1)
                task = api.get(f"/tasks/{task['id']}").json()
            assert task["status"] == "completed", task
            waits.append(time.perf_counter() - start)
        print()
        print("| async video, 1280×720, 2 s | seconds |")
        print("|---|---:|")
        print(f"| submit → completed (median of 3) | {statistics.median(waits):.1f} |")
    finally:
        server.terminate()
        server.wait(timeout=30)

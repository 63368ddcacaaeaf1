"""Workers as they run scaled out: on whatever database, broker and cache they are given, ready
after `migrate` alone, and stopping on SIGTERM even when their servers are gone.

`make test` runs the tests marked `servers` twice: on SQLite with the ORM broker, then on
PostgreSQL with Redis as broker and cache (tests/servers.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests import servers
from tests.conftest import ROOT, Worker, database_url, worker_env

pytestmark = pytest.mark.slow
STOP_WITHIN = 10.0  # seconds from SIGTERM to a stopped worker, whatever state its servers are in


def manage(env: dict, *args: str, timeout: float = 60) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def seconds_to_stop(proc: subprocess.Popen) -> float:
    """SIGTERM the worker; return how long it took to exit (or fail after STOP_WITHIN)."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"the worker ignored SIGTERM for {STOP_WITHIN:.0f} s")
    return time.monotonic() - sent


def start_qcluster(env: dict, log: Path) -> subprocess.Popen:
    """A worker whose start we don't wait for: it may never get ready."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never says a word, like a database host
    behind a dead network link: clients hang unless they time out."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as s:
        yield s.getsockname()[1]


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database of the kind the tests run on: a new SQLite file, or a new database
    on the PostgreSQL server of the `servers` run."""
    if not django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    import psycopg

    name = f"fresh_{uuid.uuid4().hex[:12]}"
    admin = database_url().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield admin.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.mark.servers
def test_the_tests_run_on_the_database_broker_and_cache_they_are_given(db, settings, tmp_path):
    from django.core.cache import caches
    from django.db import connection
    from django_q.brokers import get_broker

    on_servers = bool(os.environ.get("REDIS_URL"))
    assert connection.vendor == ("postgresql" if on_servers else "sqlite")
    assert type(get_broker()).__name__ == ("Redis" if on_servers else "ORM")
    assert type(caches["default"]).__name__ == ("RedisCache" if on_servers else "DatabaseCache")
    env = worker_env(settings, tmp_path)
    assert env["DATABASE_URL"] == database_url() and env["REDIS_URL"] == settings.REDIS_URL


@pytest.mark.servers
def test_migrate_alone_readies_a_worker_whose_status_other_processes_see(
    fresh_database_url, settings, tmp_path
):
    env = worker_env(settings, tmp_path, DATABASE_URL=fresh_database_url)
    manage(env, "migrate", "--noinput")  # and nothing else: no createcachetable
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        out = manage(
            env,
            "shell",
            "-v0",
            "-c",
            "from django_q.status import Stat; from django_q.tasks import async_task, result;"
            "task = async_task('math.hypot', 3, 4);"
            "print(result(task, wait=30000), [s.status for s in Stat.get_all()])",
        )
    finally:
        worker.stop()
    answer, clusters = out.strip().split(" ", 1)
    assert answer == "5.0"  # the task ran in the worker
    assert clusters in ("['Idle']", "['Working']")  # one cluster, seen from another process
    assert "ERROR" not in (tmp_path / "worker.log").read_text()


def test_a_worker_whose_database_does_not_answer_stops_on_sigterm(
    silent_server, settings, tmp_path
):
    env = worker_env(settings, tmp_path, DATABASE_URL=f"postgres://u@127.0.0.1:{silent_server}/x")
    proc = start_qcluster(env, tmp_path / "worker.log")
    time.sleep(1.5)  # stuck connecting
    assert seconds_to_stop(proc) < STOP_WITHIN


def test_a_worker_whose_redis_does_not_answer_stops_on_sigterm(
    silent_server, settings, tmp_path, transactional_db
):
    env = worker_env(settings, tmp_path, REDIS_URL=f"redis://127.0.0.1:{silent_server}/0")
    proc = start_qcluster(env, tmp_path / "worker.log")
    time.sleep(1.5)
    assert seconds_to_stop(proc) < STOP_WITHIN


@pytest.mark.parametrize(
    "lost", ["postgres", "redis"], ids=["the database, its broker", "Redis, its broker"]
)
def test_a_worker_whose_broker_went_away_stops_on_sigterm(lost, settings, tmp_path):
    """Its own PostgreSQL (and Redis), killed under the running worker."""
    with servers.Postgres() as postgres, servers.Redis() as redis:
        urls = {"DATABASE_URL": postgres.url(), "REDIS_URL": redis.url() if lost == "redis" else ""}
        env = worker_env(settings, tmp_path, **urls)
        manage(env, "migrate", "--noinput")
        worker = Worker(env, tmp_path / "worker.log").start()
        gone = {"postgres": postgres, "redis": redis}[lost].proc
        gone.kill()
        gone.wait()
        time.sleep(2)  # long enough to notice
        assert seconds_to_stop(worker.proc) < STOP_WITHIN
        worker.log.close()
        assert "The task broker is unreachable" in worker.log_path.read_text()

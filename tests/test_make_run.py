"""`make run PORT=…`: a taken port is said first and plainly, and the banner tells the truth."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from studio.front.management.commands.runstudio import banner, port_taken

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_make_run_takes_a_port():
    out = subprocess.run(
        ["make", "-n", "run", "PORT=8080"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "runstudio --setup --bind 127.0.0.1:8080" in out


def test_a_taken_port_is_said_before_anything_else(busy_port, tmp_path):
    r = subprocess.run(
        [sys.executable, "manage.py", "runstudio", "--setup", "--bind", f"127.0.0.1:{busy_port}"],
        cwd=ROOT,
        env={**os.environ, "STUDIO_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0
    assert f"Port {busy_port} on 127.0.0.1 is already in use" in r.stderr
    assert "make run PORT=" in r.stderr
    assert r.stdout == ""  # no "running", no sign-in lines
    assert not (tmp_path / "db.sqlite3").exists()  # nothing was set up


def test_a_free_port_is_free(busy_port):
    assert port_taken("127.0.0.1", busy_port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert not port_taken("127.0.0.1", free)


def test_the_banner_says_where_and_when_failures_are_on_purpose(settings):
    settings.STUDIO_PROVIDER = "local"
    settings.LOCAL_PROVIDER_FAIL_RATE = 0.0
    settings.LOCAL_PROVIDER_LATENCY = 0.0
    lines = banner("http://127.0.0.1:8080/")
    assert lines == [
        "Pixapi Studio is running on http://127.0.0.1:8080/ (web and a worker). Ctrl-C stops both."
    ]
    settings.LOCAL_PROVIDER_FAIL_RATE = 0.3
    settings.LOCAL_PROVIDER_LATENCY = 2.0
    text = "\n".join(banner("http://127.0.0.1:8080/"))
    assert "Failure mode is on: LOCAL_PROVIDER_FAIL_RATE=0.3" in text and "30%" in text
    assert "LOCAL_PROVIDER_LATENCY=2" in text


@pytest.mark.slow
def test_make_run_serves_on_the_port_it_was_given(tmp_path):
    import signal
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "STUDIO_DATA_DIR": str(tmp_path), "DEMO_PASSWORD": "pw-123456789"}
    env.pop("DATABASE_URL", None)
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 90
            while "is running on" not in log.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.3)
            text = log.read_text()
            assert f"Pixapi Studio is running on http://127.0.0.1:{port}/" in text, text
            assert "demo   / pw-123456789" in text
            # Healthy once the worker beside the web has written its first heartbeat.
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as r:
                        assert r.status == 200
                        break
                except urllib.error.HTTPError as e:
                    assert e.code == 503 and time.monotonic() < deadline, e.read()
                    time.sleep(0.3)
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)

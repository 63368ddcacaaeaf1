from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

# How long the web server may take to answer on its port before we say it is running.
STARTUP_WAIT = 30


def port_taken(host: str, port: int) -> bool:
    """True when something already listens on host:port (so gunicorn could not)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As gunicorn binds: a port a closed server left in TIME_WAIT counts as free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def banner(url: str) -> list[str]:
    """What `make run` says once the studio answers: where, and what is switched on."""
    lines = [f"Pixapi Studio is running on {url} (web and a worker). Ctrl-C stops both."]
    if settings.STUDIO_PROVIDER == "local":
        if settings.LOCAL_PROVIDER_FAIL_RATE:
            rate = settings.LOCAL_PROVIDER_FAIL_RATE
            lines.append(
                f"Failure mode is on: LOCAL_PROVIDER_FAIL_RATE={rate:g}, so about {rate:.0%} of "
                "renders fail on purpose (and cost nothing). Unset it for normal runs."
            )
        if settings.LOCAL_PROVIDER_LATENCY:
            lines.append(
                f"LOCAL_PROVIDER_LATENCY={settings.LOCAL_PROVIDER_LATENCY:g}: every local render "
                "waits that many seconds first."
            )
    else:
        lines.append(f"Provider: {settings.STUDIO_PROVIDER} at {settings.PIXAPI_BASE_URL}.")
    return lines


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run the web server (gunicorn) and a django-q2 worker together; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="HOST:PORT to serve on")
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument(
            "--setup",
            action="store_true",
            help="migrate and create the demo account first (what `make run` does)",
        )

    def handle(self, *args, bind: str, web_workers: int, threads: int, setup: bool, **options):
        host, _, port_text = bind.rpartition(":")
        try:
            port = int(port_text)
        except ValueError:
            raise CommandError(f"--bind needs HOST:PORT, not {bind!r}.") from None
        # Before anything else is said or done: a taken port is the commonest failed start.
        if port_taken(host, port):
            raise CommandError(
                f"Port {port} on {host} is already in use (another studio, or another "
                f"program). Start on a free one, e.g.: make run PORT={port + 80}"
            )
        if setup:
            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable")
            call_command("seed_demo")
        web = [
            sys.executable,
            "-m",
            "gunicorn",
            "studio.wsgi",
            "--bind",
            bind,
            "--workers",
            str(web_workers),
            "--threads",
            str(threads),
            # Sync image calls of the API may wait for a render; give them room.
            "--timeout",
            str(int(settings.API_SYNC_WAIT) + 30),
            "--access-logfile",
            "-",
            "--access-logformat",
            "%(m)s %(U)s%(q)s %(s)s %(M)sms %({x-request-id}o)s",
        ]
        worker = [sys.executable, "manage.py", "qcluster"]
        # New sessions: the terminal's Ctrl-C reaches only us, and we stop the children in order.
        procs = {
            "web": subprocess.Popen(web, start_new_session=True),
            "worker": subprocess.Popen(worker, start_new_session=True),
        }
        stopping = False

        def stop(*_):
            nonlocal stopping
            if stopping:
                return
            stopping = True
            # Signal each main process only: gunicorn's master and django-q2's cluster stop
            # their own children. (SIGTERM to a whole group kills django-q2's sentinel while it
            # holds a lock its parent then waits on forever.)
            for proc in procs.values():
                if proc.poll() is None:
                    proc.terminate()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        announced = False
        started = time.monotonic()
        try:
            while any(p.poll() is None for p in procs.values()):
                if not announced and not stopping and _answers(host, port):
                    announced = True
                    for line in banner(f"http://{host}:{port}/"):
                        self.stdout.write(line)
                elif not announced and time.monotonic() - started > STARTUP_WAIT:
                    announced = True
                    self.stderr.write(f"Nothing answers on {bind} yet; see the log above.")
                for name, proc in procs.items():
                    if proc.poll() is not None and not stopping:
                        self.stderr.write(
                            f"The {name} process exited ({proc.returncode}); stopping the other."
                        )
                        exit_code = proc.returncode or 1
                        stop()
                time.sleep(0.3)
        finally:
            deadline = time.monotonic() + 15
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        if exit_code:
            sys.exit(exit_code)

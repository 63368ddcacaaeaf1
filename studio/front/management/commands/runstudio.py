from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server (gunicorn) and a django-q2 worker together; Ctrl-C stops both."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, bind: str, web_workers: int, threads: int, **options):
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
            "%(m)s %(U)s%(q)s %(s)s %(M)sms",
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
        self.stdout.write(f"Web on http://{bind}/ and a worker are running. Ctrl-C stops both.")
        exit_code = 0
        try:
            while any(p.poll() is None for p in procs.values()):
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

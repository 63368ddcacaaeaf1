"""A throwaway PostgreSQL and Redis on 127.0.0.1, for the tests and benchmarks that need them.

    python -m tests.servers COMMAND [ARG ...]

installs `postgresql` and `redis-server` from Debian when they are missing, starts both on free
ports from a temporary directory, runs COMMAND with DATABASE_URL and REDIS_URL pointing at
them, stops them and deletes their data however COMMAND ends, and exits with its status.
`make test` runs the tests marked `servers` this way; `running()` does the same in-process.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PACKAGES = {"postgresql": "initdb", "redis-server": "redis-server"}
START_TIMEOUT = 60.0
DATABASE = "studio"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary(name: str) -> str | None:
    """Debian keeps the PostgreSQL server binaries out of PATH, under its major version."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    return versions[-1] if versions else None


def _version(path: str) -> int:
    return int(Path(path).parent.parent.name)


def ensure_installed() -> None:
    """apt-get install whichever of PostgreSQL and Redis is missing."""
    missing = [package for package, binary in PACKAGES.items() if not _binary(binary)]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Another apt-get on the machine holds the lock for a while; wait for it, don't fail.
    apt = [*sudo, "apt-get", "-o", "DPkg::Lock::Timeout=300"]
    print(f"servers: installing {' '.join(missing)} with apt-get", file=sys.stderr, flush=True)
    subprocess.run([*apt, "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*apt, "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def _die_with_parent(sig: int):
    """A preexec_fn: the kernel sends `sig` to the child when we die, even by SIGKILL, so a
    killed test run never leaves a server behind on a shared machine."""

    def preexec() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG

    return preexec


def _wait_for(check, what: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(Exception):
            if check():
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start in {START_TIMEOUT:.0f} s")
        time.sleep(0.1)


class Server:
    """A server process of our own in a temporary directory; `stop()` ends it and deletes the
    directory. As a context manager it is started and stopped, even when starting fails."""

    signal = signal.SIGTERM

    def __init__(self):
        ensure_installed()
        self.root = Path(tempfile.mkdtemp(prefix=f"studio-{type(self).__name__.lower()}-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        raise NotImplementedError

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(self.signal)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


class Postgres(Server):
    """PostgreSQL 15+ with fsync off (the data is thrown away), as `postgres` when we are root:
    the server refuses to run as root."""

    signal = signal.SIGINT  # "fast" shutdown: roll back open sessions, don't wait for them

    def start(self) -> Postgres:
        data = self.root / "data"
        user = {}
        if os.geteuid() == 0:
            user = {"user": "postgres", "group": "postgres", "extra_groups": []}
            shutil.chown(self.root, "postgres", "postgres")  # mkdtemp made it 0700
        subprocess.run(
            [_binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync"]
            + ["--encoding=UTF8", "--locale=C.UTF-8"],
            check=True,
            stdout=subprocess.DEVNULL,
            **user,
        )
        log = self.root / "postgres.log"
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": self.port,
            "unix_socket_directories": "",
            "max_connections": 200,
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        cmd = [_binary("postgres"), "-D", str(data)]
        for name, value in settings.items():
            cmd += ["-c", f"{name}={value}"]
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C meant for the tests must not stop it early
                preexec_fn=_die_with_parent(signal.SIGINT),
                **user,
            )
        _wait_for(self._create_database, "PostgreSQL", self.proc, log)
        return self

    def _create_database(self) -> bool:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=2) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        return True

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


class Redis(Server):
    def start(self) -> Redis:
        log = self.root / "redis.log"
        cmd = [_binary("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--dir", str(self.root), "--save", "", "--appendonly", "no"]
        cmd += ["--daemonize", "no", "--loglevel", "warning", "--logfile", str(log)]
        log.touch()
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent(signal.SIGTERM),
        )
        _wait_for(self._ping, "Redis", self.proc, log)
        return self

    def _ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextlib.contextmanager
def running() -> Iterator[dict[str, str]]:
    """Start PostgreSQL and Redis; yield {"DATABASE_URL": …, "REDIS_URL": …}; stop both."""
    with Postgres() as postgres, Redis() as redis:
        yield {"DATABASE_URL": postgres.url(), "REDIS_URL": redis.url()}


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit(__doc__)
    # SIGTERM (a CI runner giving up) must still stop the servers: make it unwind like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    started = time.monotonic()
    with running() as urls:
        print(
            f"servers: PostgreSQL and Redis up in {time.monotonic() - started:.1f} s: "
            + " ".join(f"{k}={v}" for k, v in urls.items()),
            file=sys.stderr,
            flush=True,
        )
        command = subprocess.Popen(
            argv, env={**os.environ, **urls}, preexec_fn=_die_with_parent(signal.SIGTERM)
        )
        try:
            return command.wait()
        finally:
            if command.poll() is None:
                command.terminate()
                command.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

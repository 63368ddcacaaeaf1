from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to be called
# from one unless told it is fine (it is: nothing here is actually async).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Slow work inside a transaction raises in tests, here and in the workers they start
# (studio/lib/transactions.py).
os.environ.setdefault("STUDIO_IO_GUARD", "true")

# The /metrics counters of this run's processes (this one and the workers it starts, which
# inherit the variable) go in a directory of their own, not the studio's var/metrics.
METRICS_DIR = Path(tempfile.mkdtemp(prefix="studio-metrics-"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)
django_settings.METRICS_DIR = METRICS_DIR  # the settings were read before this file
atexit.register(shutil.rmtree, METRICS_DIR, ignore_errors=True)

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    from studio.providers.base import reset_providers

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STUDIO_IO_GUARD = True
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LOCAL_PROVIDER_MEDIA_DIR = tmp_path / "provider"
    reset_providers()  # providers read settings when made; a test may change them
    yield
    reset_providers()


@pytest.fixture(autouse=True)
def _empty_redis(settings):
    """On Redis (the `servers` run) every test starts with an empty queue and cache: a task
    left over from the test before would run against this one's rows."""
    if settings.REDIS_URL:
        import redis

        with redis.Redis.from_url(settings.REDIS_URL) as r:
            r.flushdb()


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        return django_user_model.objects.create_user(username, password=PASSWORD, **extra)

    return make


@pytest.fixture
def alpha(db):
    from studio.accounts.models import Workspace

    return Workspace.objects.create(name="Alpha")


@pytest.fixture
def other(db):
    from studio.accounts.models import Workspace

    return Workspace.objects.create(name="Other")


@pytest.fixture
def alice(make_user, alpha):
    """Owner of Alpha."""
    from studio.accounts.models import Membership

    user = make_user("alice")
    Membership.objects.create(user=user, workspace=alpha, role="owner")
    return user


@pytest.fixture
def bob(make_user, alpha):
    """A member of Alpha."""
    from studio.accounts.models import Membership

    user = make_user("bob")
    Membership.objects.create(user=user, workspace=alpha, role="member")
    return user


@pytest.fixture
def vic(make_user, alpha):
    """A viewer in Alpha: looks, stars and downloads; makes and changes nothing."""
    from studio.accounts.models import Membership

    user = make_user("vic")
    Membership.objects.create(user=user, workspace=alpha, role="viewer")
    return user


@pytest.fixture
def charlie(make_user, other):
    """Outside Alpha: owner of Other."""
    from studio.accounts.models import Membership

    user = make_user("charlie")
    Membership.objects.create(user=user, workspace=other, role="owner")
    return user


@pytest.fixture
def key(alpha, alice):
    """An API key of alice's, with 100 credits in Alpha."""
    from studio.accounts.models import ApiKey
    from studio.credits import ledger

    ledger.grant(alpha, 100)
    _, raw = ApiKey.create(user=alice, workspace=alpha, name="tests")
    return raw


@pytest.fixture
def api(client, key):
    """POST/GET/any-method helpers with the bearer key."""
    import json

    class Api:
        def post(self, path, body=None, **extra):
            return client.post(
                path,
                json.dumps(body if body is not None else {}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}",
                **extra,
            )

        def multipart(self, path, data, **extra):
            return client.post(path, data, HTTP_AUTHORIZATION=f"Bearer {key}", **extra)

        def get(self, path, **extra):
            return client.get(path, HTTP_AUTHORIZATION=f"Bearer {key}", **extra)

        def generic(self, method, path, **extra):
            return client.generic(method, path, HTTP_AUTHORIZATION=f"Bearer {key}", **extra)

    return Api()


@pytest.fixture
def refusing_upstream(settings):
    """STUDIO_PROVIDER=pixapi, with a platform that refuses every prompt under its content
    policy (HTTP 422), answered in its own error shape."""
    import httpx

    from studio.providers import base
    from studio.providers.pixapi import PixapiProvider

    def platform(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            422, json={"error": {"code": 422, "message": "The prompt violates the content policy."}}
        )

    settings.STUDIO_PROVIDER = "pixapi"
    base._instances["pixapi"] = PixapiProvider(
        api_key="sk_upstream", transport=httpx.MockTransport(platform)
    )


@pytest.fixture
def fake():
    """A fake Pixapi platform: a real HTTP server on 127.0.0.1 (tests/fake_pixapi.py)."""
    from tests.fake_pixapi import FakePixapi

    server = FakePixapi().start()
    yield server
    server.stop()


# ---- browser ------------------------------------------------------------------------------

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1360, "height": 900}}


@pytest.fixture
def shot(page):
    """Save a full-page screenshot under artifacts/<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str):
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def sign_in(page, live_server):
    def sign_in_as(username: str, password: str = PASSWORD):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")

    return sign_in_as


# ---- a real worker ---------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


class Worker:
    """A django-q2 cluster (`manage.py qcluster`) in its own process group, on the test DB."""

    # django-q2 logs this (at INFO) once its worker processes are forked and it takes tasks.
    READY = re.compile(rb"Q Cluster \S+ \[[^\]]*\] running\.")
    START_TIMEOUT = 60

    def __init__(self, env: dict, log_path: Path):
        self.env = env
        self.log_path = log_path
        self.proc = None

    def start(self) -> Worker:
        """Start the cluster and return once it is ready for tasks (or fail with its log)."""
        import subprocess
        import sys
        import time

        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop/kill)
        since = self.log.tell()  # a restarted worker appends to the same log
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            # At INFO, so the readiness line is written; everything else is as asked.
            env={**self.env, "Q_LOG_LEVEL": "INFO"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.START_TIMEOUT
        while not self.READY.search(self.log_path.read_bytes()[since:]):
            assert self.proc.poll() is None, self.log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, self.log_path.read_text()[-2000:]
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        """SIGKILL the whole cluster at once, like a machine losing power."""
        import os
        import signal

        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        import subprocess

        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self.log.close()


def database_url() -> str:
    """The URL of the test database (SQLite or PostgreSQL), for processes a test starts."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = f"{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}@"
    return f"postgres://{user}{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"


def worker_env(settings, tmp_path, **extra) -> dict:
    """The environment of a worker process on the test database, broker and media."""
    data = tmp_path / "worker-data"
    data.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "STUDIO_DATA_DIR": str(data),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "STUDIO_PROVIDER": settings.STUDIO_PROVIDER,
        "LOCAL_PROVIDER_FAIL_RATE": str(settings.LOCAL_PROVIDER_FAIL_RATE),
        "Q_WORKERS": "3",
        "Q_LOG_LEVEL": "WARNING",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def worker(transactional_db, settings, tmp_path, request):
    """Start a real worker on the test database; stop it after the test.

    `@pytest.mark.worker_env(NAME="value")` adds to its environment.
    """
    marker = request.node.get_closest_marker("worker_env")
    env = worker_env(settings, tmp_path, **(marker.kwargs if marker else {}))
    w = Worker(env, tmp_path / "worker.log").start()
    yield w
    w.stop()


# ---- the studio as `make run` serves it: gunicorn, and a worker beside it -------------------


class Gunicorn:
    """`gunicorn studio.wsgi` on the test database, as `make run` serves the studio: real
    clients talk to it over HTTP, chunked request bodies included (Django's own test server
    reads none of those)."""

    LISTENING = re.compile(rb"Listening at: http://127\.0\.0\.1:(\d+)")
    START_TIMEOUT = 60

    def __init__(self, env: dict, log_path: Path):
        self.env, self.log_path = env, log_path

    def start(self) -> Gunicorn:
        import subprocess
        import sys
        import time

        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "studio.wsgi", "--bind", "127.0.0.1:0"]
            + ["--workers", "1", "--threads", "8", "--timeout", "120"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.START_TIMEOUT
        while not (found := self.LISTENING.search(self.log_path.read_bytes())):
            assert self.proc.poll() is None, self.log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, self.log_path.read_text()[-2000:]
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(found[1])}"
        return self

    def stop(self) -> None:
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="session")
def studio_env(django_db_setup, tmp_path_factory) -> dict:
    """The environment of the session's gunicorn and worker: the test database, their own
    data and media folders, no rate limit worth mentioning."""
    from django.conf import settings
    from django.db import connection

    data = tmp_path_factory.mktemp("studio")
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "SECRET_KEY": settings.SECRET_KEY,
        "STUDIO_DATA_DIR": str(data),
        "MEDIA_ROOT": str(data / "media"),
        "STUDIO_PROVIDER": "local",
        "API_RATE_BURST": "100000",
        "API_RATE_LIMIT": "100000",
        "Q_WORKERS": "2",
        "Q_LOG_LEVEL": "WARNING",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="session")
def studio(studio_env, tmp_path_factory):
    """One gunicorn for the whole session (see Gunicorn); its `url`, `env` and `media`."""
    server = Gunicorn(studio_env, tmp_path_factory.mktemp("logs") / "gunicorn.log").start()
    server.media = Path(studio_env["MEDIA_ROOT"])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def studio_worker(studio, studio_env, tmp_path_factory):
    """A real worker beside the session's gunicorn (videos need one), for one test module:
    it takes tasks from the shared queue, so it must not outlive the tests that expect it."""
    w = Worker(studio_env, tmp_path_factory.mktemp("logs") / "worker.log").start()
    yield w
    w.stop()

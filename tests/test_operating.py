"""What an operator relies on: request ids, log lines that say whose they are, /metrics and
/healthz — followed from a /v1 call into a real worker's log and through a stopped worker."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings

from studio.accounts.models import ApiKey
from studio.credits import ledger
from studio.generations import runner
from studio.generations.models import Job
from studio.ops import heartbeat, logs, metrics
from studio.ops.logs import ContextFilter, JsonFormatter
from tests.conftest import ROOT

TOKEN = "metrics-token-for-the-tests"
D = Decimal


@pytest.fixture
def key(alpha, alice):
    ledger.grant(alpha, 100)
    _, raw = ApiKey.create(user=alice, workspace=alpha, name="ops")
    return raw


@contextmanager
def web_log():
    """The lines this process logs meanwhile, formatted as LOG_FORMAT=json formats them."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        lines.extend(json.loads(line) for line in out.getvalue().splitlines())


def json_lines(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue  # what the worker's processes print otherwise (none expected)
    return found


def submit_v1(client, key: str, request_id: str, body: str | None = None):
    """POST /v1/async/images/generations with X-Request-ID (`body`: instead of a good one)."""
    good = json.dumps({"model": "nano-banana", "prompt": "a lighthouse at dusk"})
    return client.post(
        "/v1/async/images/generations",
        body if body is not None else good,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_X_REQUEST_ID=request_id,
    )


def scrape(client) -> dict[str, float]:
    """/metrics as {'name{labels}': value}."""
    r = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in r.content.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def wait_until(predicate, timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


# ---- request ids ---------------------------------------------------------------------------


def test_every_request_gets_an_id_and_keeps_a_sane_one_it_was_sent(client, db):
    page = client.get("/accounts/login/")
    assert page["x-request-id"].startswith("req_") and len(page["x-request-id"]) == 36
    assert client.get("/accounts/login/")["x-request-id"] != page["x-request-id"]
    kept = client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-7f3a:2024.01_x")
    assert kept["x-request-id"] == "lb-7f3a:2024.01_x"
    for insane in ("has space", "a/b", "x" * 129, "<script>", "-leading-dash", "é"):
        r = client.get("/accounts/login/", HTTP_X_REQUEST_ID=insane)
        assert r["x-request-id"].startswith("req_"), insane


def test_a_v1_error_body_carries_the_same_id_as_the_header(client, key):
    r = submit_v1(client, key, "client-req-42", body="{not json")
    assert r.status_code == 400
    assert r.json()["error"]["request_id"] == r["x-request-id"] == "client-req-42"
    unauthorised = client.get("/v1/tasks")
    assert unauthorised.json()["error"]["request_id"] == unauthorised["x-request-id"]


def test_log_lines_of_a_request_say_which_request_user_workspace_and_job(client, key, alice):
    with web_log() as lines:
        r = submit_v1(client, key, "trace-me-1")
    job = Job.objects.get(public_id=r.json()["id"])
    submitted = next(line for line in lines if line["message"].startswith("submitted"))
    assert submitted["request_id"] == "trace-me-1" and job.request_id == "trace-me-1"
    assert submitted["user"] == alice.pk and submitted["workspace"] == job.workspace_id
    assert submitted["job_id"] == job.public_id
    assert {"time", "level", "logger"} <= set(submitted)
    assert submitted["level"] == "INFO" and submitted["logger"] == "studio.generations.submitting"
    # Outside any request, nothing is carried over.
    logging.getLogger("studio.test").warning("after")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "after", None, None)
    ContextFilter().filter(record)
    assert record.request_id is None and record.job_id is None and record.context == ""


def test_a_page_requests_lines_name_the_signed_in_user(client, alice, alpha):
    client.force_login(alice)
    with logs.bound(request_id="req_page"):
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
        ContextFilter().filter(record)
    assert record.context == " request_id=req_page"
    with web_log() as lines:
        ledger.grant(alpha, 10)
        r = client.post(
            "/generate/",
            {"prompt": "a red bicycle", "model": "nano-banana"},
            HTTP_HX_REQUEST="true",
        )
    assert r.status_code == 200
    submitted = next(line for line in lines if line["message"].startswith("submitted"))
    assert submitted["request_id"] == r["x-request-id"]
    assert submitted["user"] == alice.pk and submitted["workspace"] == alpha.pk


def test_log_format_json_switches_every_line_to_one_json_object(tmp_path):
    code = (
        "import logging; from studio.ops import logs\n"
        "with logs.bound(request_id='req_cli', job_id='task_1'):\n"
        "    logging.getLogger('studio.x').warning('hello %s', 'there')\n"
    )
    env = {"LOG_FORMAT": "json", "STUDIO_DATA_DIR": str(tmp_path)}
    line = run_shell(code, env).strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "hello there" and record["level"] == "WARNING"
    assert record["request_id"] == "req_cli" and record["job_id"] == "task_1"
    assert record["logger"] == "studio.x" and record["time"].startswith("20")
    plain = run_shell(code, {"STUDIO_DATA_DIR": str(tmp_path)}).strip().splitlines()[-1]
    assert plain.endswith("WARNING studio.x: hello there request_id=req_cli job_id=task_1")


def run_shell(code: str, env: dict) -> str:
    import os

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


@pytest.mark.slow
@pytest.mark.servers
@pytest.mark.worker_env(LOG_FORMAT="json", LOG_LEVEL="INFO")
def test_one_request_id_leads_from_the_v1_call_through_the_web_log_to_the_workers_log(
    client, key, alpha, worker
):
    with web_log() as web:
        r = submit_v1(client, key, "follow-me-7")
    assert r.status_code == 200 and r["x-request-id"] == "follow-me-7"
    task_id = r.json()["id"]
    assert any(line["request_id"] == "follow-me-7" for line in web)

    def finished():
        return Job.objects.get(public_id=task_id).status == "completed"

    assert wait_until(finished, 60), worker.log_path.read_text()[-3000:]
    lines = json_lines(worker.log_path.read_text())
    about = [line for line in lines if line.get("job_id") == task_id]
    assert [line["message"].split(" ")[0] for line in about] == ["running", "completed:"]
    assert all(line["request_id"] == "follow-me-7" for line in about)
    assert all(line["workspace"] == alpha.pk for line in about)
    # django-q2's own lines come through the same formatter.
    assert any(line["logger"] == "django-q" for line in lines)


# ---- /metrics -------------------------------------------------------------------------------


def test_metrics_are_off_without_a_token_and_need_the_right_bearer(client, db, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer tökén").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    settings.ALLOWED_HOSTS = ["studio.example.com"]  # Prometheus scrapes by address
    r = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_HOST="10.0.0.9")
    assert r.status_code == 200 and b"studio_queue_depth" in r.content


def test_requests_are_counted_by_route_never_by_path(client, alice, settings):
    settings.METRICS_TOKEN = TOKEN
    client.force_login(alice)
    before = scrape(client)
    uids = ["first1", "second2", "third3"]
    for uid in uids:
        assert client.get(f"/assets/{uid}/").status_code == 404
    client.get("/no/such/page/")
    after = scrape(client)
    assert not any(uid in name for name in after for uid in uids)  # ids never become labels
    series = 'studio_http_requests_total{method="GET",route="asset",status="404"}'
    assert after[series] - before.get(series, 0) == 3
    unmatched = 'studio_http_requests_total{method="GET",route="unmatched",status="404"}'
    assert after[unmatched] - before.get(unmatched, 0) == 1
    scraped = 'studio_http_requests_total{method="GET",route="metrics",status="200"}'
    assert after[scraped] - before.get(scraped, 0) == 1
    latency = 'studio_http_request_duration_seconds_count{method="GET",route="asset"}'
    assert after[latency] - before.get(latency, 0) == 3


@pytest.mark.servers  # its SQL differs between SQLite and PostgreSQL
def test_the_database_figures_take_the_same_few_queries_however_many_jobs(
    client, alice, alpha, settings, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_job

    settings.METRICS_TOKEN = TOKEN

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    make_job(alpha, alice)
    few = queries()
    for i in range(30):
        make_job(alpha, alice, model="veo" if i % 2 else "gpt-image-2", status="failed")
    assert queries() == few <= 4


@pytest.mark.servers  # its SQL differs between SQLite and PostgreSQL
def test_metrics_show_jobs_credits_and_the_queue(client, alice, alpha, settings):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import make_job

    settings.METRICS_TOKEN = TOKEN
    ledger.grant(alpha, 100)
    now = timezone.now()
    done = runner.submit(
        workspace=alpha, user=alice, kind="generate", request={"model": "nano-banana"}, prompt="x"
    )
    runner.run_job(done.pk)
    waiting = make_job(alpha, alice, created_at=now - timedelta(seconds=90))
    make_job(
        alpha,
        alice,
        status="processing",
        provider_task_id="t1",
        next_poll_at=now - timedelta(seconds=30),
    )
    runner.cancel(
        runner.submit(
            workspace=alpha,
            user=alice,
            kind="generate",
            request={"model": "nano-banana"},
            prompt="y",
        )
    )
    m = scrape(client)
    model = done.model
    assert m[f'studio_jobs_submitted_total{{model="{model}"}}'] == 2
    assert m[f'studio_jobs_finished_total{{model="{model}",status="completed"}}'] == 1
    assert m[f'studio_jobs_finished_total{{model="{model}",status="cancelled"}}'] == 1
    assert m[f'studio_jobs_active{{model="{waiting.model}",status="queued"}}'] == 1
    assert m["studio_queue_depth"] == 1 and 89 <= m["studio_queue_oldest_age_seconds"] < 120
    assert m["studio_polls_due"] == 1 and 29 <= m["studio_poll_lag_seconds"] < 60
    assert m["studio_credits_reserved_total"] == 4.0
    assert m["studio_credits_captured_total"] == 2.0
    assert m["studio_credits_released_total"] == 2.0
    assert m["studio_credits_held"] == 0.0
    calls = 'studio_provider_calls_total{operation="generate",outcome="ok",provider="local"}'
    assert m[calls] >= 1


def test_counters_of_processes_that_exited_are_kept_in_an_archive(tmp_path, settings):
    """Three processes count, exit, and a fourth starts: their files are folded into one and
    the total is what they counted."""
    import os

    code = (
        "from studio.ops import metrics\n"
        "metrics.observe_request('home', 'GET', 200, 0.01)\n"
        "metrics.observe_request('home', 'GET', 200, 0.02)\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "STUDIO_DATA_DIR": str(tmp_path)}
    for _ in range(3):
        run_shell(code, env)
    # Each process that started folded its predecessors' files: an archive and the last one.
    per_process = sorted(p.name for p in tmp_path.glob("counter_*.db"))
    assert len(per_process) == 2 and per_process[1] == f"counter_{metrics.NODE}-archive.db"

    def total() -> float:
        files = [str(p) for p in tmp_path.glob("*.db")]
        for family in metrics.MultiProcessCollector.merge(files):
            for sample in family.samples:
                if sample.name == "studio_http_requests_total":
                    return sample.value
        return 0.0

    assert total() == 6
    run_shell("from studio.ops import metrics; metrics.directory()", env)  # a 4th starts
    assert [p.name for p in tmp_path.glob("counter_*.db")] == [f"counter_{metrics.NODE}-archive.db"]
    assert total() == 6
    run_shell(code, env)  # and the next process's counts add to them
    assert total() == 8
    assert not any(name.endswith(f"-{os.getpid()}.db") for name in per_process)  # not ours


def test_an_unusable_metrics_directory_costs_no_request_its_answer(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    code = (
        "from studio.ops import metrics\n"
        "metrics.observe_request('home', 'GET', 200, 0.01)\n"
        "print(metrics.directory() != metrics.settings.METRICS_DIR, file=__import__('sys').stderr)"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(blocked), "STUDIO_DATA_DIR": str(tmp_path)}
    out = run_shell(code, env)
    assert "is not usable; counting per process" in out and out.strip().endswith("True")


# ---- /healthz -------------------------------------------------------------------------------


def test_healthz_names_the_worker_when_its_heartbeat_is_old_or_missing(client, db, settings):
    settings.WORKER_HEARTBEAT_MAX_AGE = 60
    heartbeat.beat(time.time() - 75)
    r = client.get("/healthz")
    assert r.status_code == 503 and r.content == b"worker: no heartbeat for 75 s\n"
    assert r["Cache-Control"] == "no-store"
    cache.delete(heartbeat.KEY)
    r = client.get("/healthz")
    assert r.status_code == 503 and r.content.startswith(b"worker: no heartbeat yet")
    heartbeat.beat()
    assert client.get("/healthz").content == b"ok\n"


def test_healthz_names_the_cache_when_it_is_down(client, db):
    from tests.servers import free_port

    down = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    with override_settings(CACHES=down):
        r = client.get("/healthz")
    assert r.status_code == 503
    assert r.content == b"cache: unavailable (ConnectionError)\n"


@pytest.mark.slow
@pytest.mark.servers
@pytest.mark.worker_env(WORKER_HEARTBEAT_MAX_AGE=3)
def test_healthz_turns_503_when_the_worker_has_been_stopped_long_enough(client, worker, settings):
    settings.WORKER_HEARTBEAT_MAX_AGE = 3
    assert wait_until(lambda: client.get("/healthz").status_code == 200, 20)
    # Beating every second, it stays healthy.
    time.sleep(4)
    assert client.get("/healthz").content == b"ok\n"
    worker.stop()
    stopped = time.monotonic()
    assert wait_until(lambda: client.get("/healthz").status_code == 503, 20)
    assert time.monotonic() - stopped >= 2  # not before the threshold
    body = client.get("/healthz").content.decode()
    assert body.startswith("worker: no heartbeat for ") and body.endswith(" s\n")


@pytest.mark.slow
@pytest.mark.servers
@pytest.mark.worker_env(LOCAL_PROVIDER_LATENCY=1)
def test_metrics_show_the_job_counters_moving_while_a_worker_runs_them(
    client, alice, alpha, settings, worker
):
    settings.METRICS_TOKEN = TOKEN
    ledger.grant(alpha, 100)
    before = scrape(client)
    jobs = [
        runner.submit(
            workspace=alpha,
            user=alice,
            kind="generate",
            request={"model": "nano-banana"},
            prompt=f"frame {i}",
        )
        for i in range(4)
    ]
    model = jobs[0].model
    submitted = f'studio_jobs_submitted_total{{model="{model}"}}'
    completed = f'studio_jobs_finished_total{{model="{model}",status="completed"}}'
    during = scrape(client)
    assert during[submitted] - before.get(submitted, 0) == 4
    assert during["studio_credits_reserved_total"] - before["studio_credits_reserved_total"] == 8

    def all_completed():
        return scrape(client).get(completed, 0) - before.get(completed, 0) == 4

    assert wait_until(all_completed, 60), worker.log_path.read_text()[-3000:]
    after = scrape(client)
    assert after["studio_queue_depth"] == 0
    assert after["studio_credits_captured_total"] - before["studio_credits_captured_total"] == 8
    # The worker's provider calls are counted too: it shares the metrics directory.
    calls = 'studio_provider_calls_total{operation="generate",outcome="ok",provider="local"}'
    assert after[calls] - before.get(calls, 0) == 4
    assert after["studio_worker_heartbeat_age_seconds"] < 15

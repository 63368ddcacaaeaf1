"""Prometheus metrics: what /metrics shows, and how each process records its part.

Two sources, chosen so that every web process on every machine answers the same totals:

- **The database, read when scraped** — jobs by model and status, queue depth and the oldest
  queued job, poll lag, credits reserved / captured / released, the worker heartbeat's age.
  They are facts about shared rows, so they need no per-process state, survive restarts and
  don't depend on which process (or machine) did the work. A constant three queries.
- **Counters each process keeps** — requests by route, provider calls, their latency and
  errors — in prometheus-client's multiprocess mode: each process writes its own small
  mmapped file under METRICS_DIR (PROMETHEUS_MULTIPROC_DIR), and a scrape adds them all up.
  Web processes and workers that share the directory (one machine, or docker compose's
  shared /data volume) are all counted. Files are named by host, pid namespace and pid, so
  containers sharing the volume never write to one file; when a process starts, the files of
  its host's dead processes are folded into one archive file per host, so counters never go
  backwards and the directory doesn't grow with every recycled worker.
"""

from __future__ import annotations

import atexit
import fcntl
import functools
import glob
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector

# Prometheus' classic text format, which every Prometheus version reads.
log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ARCHIVE = "archive"


def _node() -> str:
    """This host and pid namespace: processes with one node name see each other's pids."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    host = re.sub(r"[^A-Za-z0-9.]", "-", socket.gethostname()) or "host"
    return f"{host}.{namespace}"


NODE = _node()


def _identity() -> str:
    return f"{NODE}-{os.getpid()}"


@contextmanager
def _locked(directory: Path, mode: int):
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    if pid == os.getpid():  # a file of ours before we wrote any: an earlier process's pid
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _archive_dead(directory: Path) -> None:
    """Fold the files of this node's dead processes into the node's archive files (counters
    and histograms add up; a dead process's gauges mean nothing and go)."""
    dead: dict[str, list[Path]] = {}
    for path in directory.glob(f"*_{NODE}-*.db"):
        prefix, identity = path.stem.rsplit("_", 1)
        pid = identity.rsplit("-", 1)[1]
        if pid != ARCHIVE and not _alive(int(pid)):
            dead.setdefault(prefix, []).append(path)
    for prefix, paths in dead.items():
        if prefix.startswith("gauge"):
            for path in paths:
                path.unlink()
            continue
        archive = directory / f"{prefix}_{NODE}-{ARCHIVE}.db"
        scratch = directory / f".{archive.name}.tmp"  # not *.db: scrapes don't read it
        if archive.exists():
            shutil.copyfile(archive, scratch)
        merged = MmapedDict(str(scratch))
        try:
            for path in paths:
                for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
                    merged.write_value(key, merged.read_value(key)[0] + value, 0.0)
        finally:
            merged.close()
        os.replace(scratch, archive)
        for path in paths:
            path.unlink()


_directory: Path | None = None
_setup_lock = threading.Lock()


def directory() -> Path:
    """METRICS_DIR, readied for this process on first use: the dead processes' files folded
    away, and prometheus-client writing this process's values there. Every metric below has
    labels, so none has a value (a file) before its first `.labels()`, which comes after."""
    global _directory
    if _directory is not None:
        return _directory
    with _setup_lock:
        if _directory is None:
            try:
                path = _ready(Path(settings.METRICS_DIR))
            except OSError:
                # Counting must never cost a request: count this process alone, and say so.
                log.exception(
                    "METRICS_DIR %s is not usable; counting per process", settings.METRICS_DIR
                )
                path = _ready(Path(tempfile.mkdtemp(prefix="studio-metrics-")))
                atexit.register(shutil.rmtree, path, ignore_errors=True)
            values.ValueClass = values.MultiProcessValue(_identity)
            _directory = path
    return _directory


def _ready(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    # prometheus-client reads the directory from here when it creates a file, and django-q2
    # to tidy up after a worker it restarts.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    with _locked(path, fcntl.LOCK_EX):
        _archive_dead(path)
    return path


REQUESTS = Counter(
    "studio_http_requests",
    "HTTP requests answered, by route (URL pattern name), method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "studio_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
PROVIDER_CALLS = Counter(
    "studio_provider_calls",
    "Calls to a provider, by provider, operation and outcome (ok or error).",
    ["provider", "operation", "outcome"],
)
PROVIDER_SECONDS = Histogram(
    "studio_provider_call_duration_seconds",
    "Time a provider call took, by provider and operation.",
    ["provider", "operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
PROVIDER_ERRORS = Counter(
    "studio_provider_errors",
    "Provider calls that failed, by provider, operation and error code.",
    ["provider", "operation", "code"],
)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    directory()
    method = method if method in METHODS else "other"
    REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_SECONDS.labels(route, method).observe(seconds)


def _observe_call(provider: str, operation: str, seconds: float, error) -> None:
    PROVIDER_SECONDS.labels(provider, operation).observe(seconds)
    PROVIDER_CALLS.labels(provider, operation, "error" if error else "ok").inc()
    if error:
        PROVIDER_ERRORS.labels(provider, operation, getattr(error, "code", "exception")).inc()


def metered(operation: str):
    """Decorate a Provider method: count its calls, time them and count its errors. A
    failure to count is logged, never raised: it must not change what the call did."""

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            started = time.perf_counter()
            error = None
            try:
                return method(self, *args, **kwargs)
            except Exception as e:
                error = e
                raise
            finally:
                try:
                    directory()
                    _observe_call(self.name, operation, time.perf_counter() - started, error)
                except Exception:
                    log.exception("could not count a %s call", operation)

        return wrapper

    return decorator


class DatabaseCollector:
    """The job, queue and credit figures, read from the shared database when scraped."""

    def collect(self):
        from studio.credits.models import Reservation
        from studio.generations.models import FINAL_STATUSES, Job, JobStatus
        from studio.ops import heartbeat

        now = timezone.now()
        submitted = CounterMetricFamily(
            "studio_jobs_submitted", "Jobs submitted, by model.", labels=["model"]
        )
        finished = CounterMetricFamily(
            "studio_jobs_finished",
            "Jobs that ended, by model and status (completed, failed, cancelled).",
            labels=["model", "status"],
        )
        active = GaugeMetricFamily(
            "studio_jobs_active",
            "Jobs not ended yet, by model and status (queued, processing).",
            labels=["model", "status"],
        )
        per_model: dict[str, int] = {}
        rows = Job.objects.values_list("model", "status").annotate(n=Count("id")).order_by()
        for model, status, n in rows:
            per_model[model] = per_model.get(model, 0) + n
            family = finished if status in FINAL_STATUSES else active
            family.add_metric([model, status], n)
        for model, n in sorted(per_model.items()):
            submitted.add_metric([model], n)
        yield from (submitted, finished, active)

        queued, processing = Q(status=JobStatus.QUEUED), Q(status=JobStatus.PROCESSING)
        due = processing & ~Q(provider_task_id="") & Q(next_poll_at__lte=now)
        live = Job.objects.filter(status__in=(JobStatus.QUEUED, JobStatus.PROCESSING)).aggregate(
            queued=Count("id", filter=queued),
            oldest=Min("created_at", filter=queued),
            due=Count("id", filter=due),
            most_overdue=Min("next_poll_at", filter=due),
        )
        yield GaugeMetricFamily("studio_queue_depth", "Jobs queued for a worker.", live["queued"])
        yield GaugeMetricFamily(
            "studio_queue_oldest_age_seconds",
            "How long the oldest queued job has waited (0 when none is queued).",
            _seconds_since(live["oldest"], now),
        )
        yield GaugeMetricFamily(
            "studio_polls_due", "In-flight videos whose next poll is due now.", live["due"]
        )
        yield GaugeMetricFamily(
            "studio_poll_lag_seconds",
            "How late the most overdue poll of an in-flight video is (0 when none is late).",
            _seconds_since(live["most_overdue"], now),
        )

        credits = Reservation.objects.aggregate(
            reserved=Sum("amount"),
            captured=Sum("settlement__captured"),
            released=Sum("settlement__released"),
        )
        amounts = {name: float(value or 0) for name, value in credits.items()}
        for name, what in (
            ("reserved", "Credits reserved by submitted jobs."),
            ("captured", "Reserved credits spent on what was delivered."),
            ("released", "Reserved credits given back (failures, cancels, shortfalls)."),
        ):
            yield CounterMetricFamily(f"studio_credits_{name}", what, amounts[name])
        yield GaugeMetricFamily(
            "studio_credits_held",
            "Credits reserved by jobs that have not ended.",
            amounts["reserved"] - amounts["captured"] - amounts["released"],
        )

        try:
            age = heartbeat.age()
        except Exception:  # /healthz reports the cache; the rest of the figures still count
            age = None
        if age is not None:
            yield GaugeMetricFamily(
                "studio_worker_heartbeat_age_seconds",
                "Seconds since the newest worker heartbeat.",
                age,
            )


def _seconds_since(moment, now) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment else 0.0


class ProcessCollector:
    """The counters of every process that shares METRICS_DIR, added up."""

    def collect(self):
        path = directory()
        with _locked(path, fcntl.LOCK_SH):  # never while an archive is being written
            files = glob.glob(os.path.join(path, "*.db"))
            return MultiProcessCollector.merge(files, accumulate=True)


def render() -> bytes:
    """The metrics in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProcessCollector())
    registry.register(DatabaseCollector())
    return generate_latest(registry)

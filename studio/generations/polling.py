"""Polling: following in-flight videos without holding a worker per video.

`pump` is a django-q2 task, one at a time (a Lease): for about PUMP_SLICE seconds it claims
every in-flight job whose poll is due (Job.claim_poll), polls them in a small thread pool
and schedules each one's next poll with backoff, then hands over to a successor while work
remains. It is started when a video is submitted, by the minute schedule (runner.tick), and
by anyone reading a job whose poll is overdue (`nudge`), so a killed worker's videos are
picked up again without waiting for a person.

`poll_job` asks the provider about one job: a finished video is copied into our storage and
checked (outputs.store_outputs) before the job completes, and charged for the seconds we
measured; a failure releases everything.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import close_old_connections, connection
from django.utils import timezone

from studio.generations import recovering
from studio.generations.media import MediaError
from studio.generations.models import Job, JobStatus, Lease
from studio.generations.outputs import delivered_seconds, failure_of, store_outputs
from studio.lib.transactions import outside_transaction
from studio.ops import logs
from studio.providers.base import COMPLETED, FAILED, ProviderError, get_provider

log = logging.getLogger(__name__)

# The delay after each poll of a job grows from POLL_FIRST to POLL_MAX seconds.
POLL_FIRST, POLL_MAX = 0.5, 4.0
POLL_THREADS = 8
POLL_BATCH = 200
PUMP = "poller"
PUMP_SLICE, PUMP_LEASE, PUMP_TICK = 25.0, 15.0, 0.25
RECOVER_EVERY = 5.0
# Nobody has polled an in-flight job for this long: the poller is gone, start one.
POLL_OVERDUE = 10


def in_flight():
    """Jobs waiting on an async provider task."""
    return Job.objects.filter(status=JobStatus.PROCESSING).exclude(provider_task_id="")


def _backoff(polls: int) -> float:
    return min(POLL_MAX, POLL_FIRST * 2**polls)


@logs.isolated
def poll_job(job_id: int, now=None) -> None:
    """Ask the provider about one in-flight job and act on the answer."""
    now = now or timezone.now()
    job = Job.objects.select_related("source_asset").get(pk=job_id)
    logs.bind_job(job)
    if job.status != JobStatus.PROCESSING:
        return
    if now >= job.deadline_at:
        job.time_out(now)
        return
    provider = get_provider(job.provider)
    try:
        state = provider.get_task(job.provider_task_id)
        if state.status == COMPLETED:
            stored = store_outputs(job, provider, state.outputs[:1])
            if not stored:
                job.fail("no_output", now=now)
            else:
                # What we measured in the file, never the duration the provider claims.
                job.complete(stored, delivered_seconds(stored), now)
            return
    except ProviderError as e:
        if e.permanent:
            job.fail(*failure_of(e, job), now=now)
        else:  # the provider is busy or unreachable: ask again later
            job.poll_later(max(_backoff(job.polls), e.retry_after or 0), now)
        return
    except MediaError as e:  # what it delivered isn't the video it claims
        job.fail(*failure_of(e, job), now=now)
        return
    if state.status == FAILED:
        detail = {"detail": state.error_message} if state.error_message else {}
        job.fail(state.error_code or "generation_failed", detail, now)
        return
    job.poll_later(_backoff(job.polls), now, progress=state.progress)


def _poll_in_thread(job_id: int) -> None:
    close_old_connections()
    try:
        poll_job(job_id)
    except Exception:
        log.exception("polling job %s failed", job_id)
    finally:
        connection.close()


def poll_due(now=None) -> int:
    """Claim and poll every in-flight job whose next poll is due; return how many."""
    now = now or timezone.now()
    due = in_flight().filter(next_poll_at__lte=now).order_by("next_poll_at")[:POLL_BATCH]
    due = due.only("id", "next_poll_at")
    claimed = [job.pk for job in due if job.claim_poll(job.next_poll_at, now)]
    if len(claimed) == 1:
        try:
            poll_job(claimed[0], now)
        except Exception:
            log.exception("polling job %s failed", claimed[0])
    elif claimed:
        with ThreadPoolExecutor(min(POLL_THREADS, len(claimed))) as pool:
            list(pool.map(_poll_in_thread, claimed))
    return len(claimed)


def pump() -> str:
    """Poll in-flight jobs for about PUMP_SLICE seconds (the django-q2 task).

    One pump runs at a time (a Lease); it enqueues its successor while work remains.
    """
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not Lease.acquire(PUMP, holder, PUMP_LEASE):
        return "another poller is running"
    started = time.monotonic()
    last_recover = 0.0
    polled = 0
    try:
        while time.monotonic() - started < PUMP_SLICE:
            now = timezone.now()
            if not Lease.acquire(PUMP, holder, PUMP_LEASE, now):
                return "lease lost"
            if time.monotonic() - last_recover >= RECOVER_EVERY:
                recovering.recover(now)
                last_recover = time.monotonic()
            polled += poll_due(now)
            if not in_flight().exists():
                break
            outside_transaction("the poller's pause")
            time.sleep(PUMP_TICK)
    finally:
        Lease.release(PUMP, holder)
    if in_flight().exists():
        _start_pump()
    return f"polled {polled}"


def _start_pump() -> None:
    from django_q.tasks import async_task

    async_task("studio.generations.polling.pump", task_name="poller", group="poller")


def ensure_pump(now=None) -> bool:
    """Start a poller when jobs are in flight and none is running; return True if started."""
    now = now or timezone.now()
    if Lease.is_held(PUMP, now) or not in_flight().exists():
        return False
    _start_pump()
    return True


def nudge(job: Job, now=None) -> None:
    """Called by whoever reads a job: if its poll is overdue, nobody is polling; start it."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=POLL_OVERDUE)
    if (
        job.status == JobStatus.PROCESSING
        and job.provider_task_id
        and job.next_poll_at
        and job.next_poll_at < overdue
    ):
        ensure_pump(now)

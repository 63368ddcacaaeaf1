"""How a Job runs: submit → reserve → enqueue → run → (poll) → complete or fail.

The full story, with the failure cases, is in docs/jobs.md. In short:

- `submit` prices the request, creates the Job and reserves its credits in one transaction,
  and enqueues `run_job` when that commits. A refused reservation leaves nothing behind.
- `run_job` (a django-q2 task) claims the job with `UPDATE … WHERE status='queued'`, so a
  duplicate delivery does nothing. Images: it calls the provider, copies every output into our
  storage, then completes the job. Video: it submits the provider task, saves its id and
  returns at once — no worker waits for a video.
- `pump` (a django-q2 task, one at a time by a Lease) polls every in-flight video that is due,
  with backoff, in a small thread pool, for ~25 s, then hands over to a successor. It is
  started on submit, by the minute schedule (`tick`), and by anyone reading a job whose poll
  is overdue, so a killed worker's videos are picked up again without waiting for a person.
- `recover` finds what a dead worker left behind: an expired lease, a lost queue message, a
  job past its model's deadline. It requeues work that is safe to repeat and fails the rest.
- Every terminal transition is `UPDATE … WHERE status=<expected>`; only the winner captures or
  releases credits (and only once, by the ledger's unique Settlement).
"""

from __future__ import annotations

import logging
import mimetypes
import os
import socket
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from studio.catalog import tables
from studio.catalog.quote import check_prompt, quote
from studio.credits import ledger
from studio.errors import StudioError
from studio.generations import media
from studio.generations.models import (
    ACTIVE_STATUSES,
    Job,
    JobKind,
    JobSource,
    JobStatus,
    Lease,
)
from studio.providers.base import InputImage, ProviderError, get_provider

log = logging.getLogger(__name__)

ENDPOINT_OF = {
    JobKind.GENERATE: tables.GENERATIONS,
    JobKind.EDIT: tables.EDITS,
    JobKind.ANIMATE: tables.VIDEOS,
}
# A worker holds a job it is running for this long, renewing it while it works.
RUN_LEASE = 60
HEARTBEAT = 20
# A queued job whose queue message hasn't been picked up by then is enqueued again; well
# inside the shortest model deadline (5 min), so a lost message is resent before it times out.
QUEUED_RESEND = 90
# Runs of one job before a crash-looping job is failed instead of requeued.
MAX_RUNS = 3
# Polling: a claimed poll is held this long; the delay after each poll grows to POLL_MAX.
POLL_CLAIM = 120
POLL_FIRST, POLL_MAX = 0.5, 4.0
POLL_THREADS = 8
POLL_BATCH = 200
PUMP = "poller"
PUMP_SLICE, PUMP_LEASE, PUMP_TICK = 25.0, 15.0, 0.25
RECOVER_EVERY = 5.0
# Nobody has polled an in-flight job for this long: the poller is gone, start one.
POLL_OVERDUE = 10


# ---- submitting ----------------------------------------------------------------------------


def submit(
    *,
    workspace,
    user,
    kind: str,
    request: dict,
    prompt: str,
    source: str = JobSource.STUDIO,
    api_key=None,
    source_asset=None,
    inputs: dict | None = None,
    retry_of: Job | None = None,
    enqueue_job: bool = True,
) -> Job:
    """Price `request`, create the Job and reserve its credits; enqueue it on commit.

    Raise StudioError for a bad request and ledger.InsufficientCredits (402) when the credits
    can't cover it — before anything is queued or any provider is called.
    """
    prompt = check_prompt(prompt)
    q = quote({**request, "endpoint": ENDPOINT_OF[kind]})
    if kind == JobKind.EDIT and source_asset is None:
        raise StudioError("An edit needs an image to start from.", param="image")
    provider = get_provider()
    if (
        kind == JobKind.ANIMATE
        and source_asset is not None
        and provider.needs_public_input_url
        and not settings.STUDIO_PUBLIC_URL
    ):
        raise StudioError(
            "To animate an image through Pixapi, the platform must be able to fetch it: set "
            "STUDIO_PUBLIC_URL to this studio's public address.",
            param="input_image",
        )
    now = timezone.now()
    model = tables.MODELS[q.model]
    with transaction.atomic():
        job = Job.objects.create(
            workspace=workspace,
            user=user,
            api_key=api_key,
            kind=kind,
            source=source,
            endpoint=q.endpoint,
            model=q.model,
            prompt=prompt,
            params={k: v for k, v in request.items() if v is not None and k != "endpoint"},
            quote=q.to_dict(),
            credits_quoted=q.credits,
            source_asset=source_asset,
            inputs=inputs or {},
            retry_of=retry_of,
            provider=provider.name,
            created_at=now,
            deadline_at=now + timedelta(seconds=model.timeout),
            lease_until=now + timedelta(seconds=QUEUED_RESEND),
        )
        ledger.reserve(workspace, user, job, q, now)
        if enqueue_job:
            transaction.on_commit(lambda: enqueue(job))
    return job


def enqueue(job: Job) -> None:
    from django_q.tasks import async_task

    async_task(
        "studio.generations.runner.run_job", job.pk, task_name=f"run {job.public_id}", group="jobs"
    )


def retry(job: Job, user) -> Job:
    """Submit `job`'s request again, as a new job (the failed one stays as it was)."""
    return submit(
        workspace=job.workspace,
        user=user,
        kind=job.kind,
        request=job.params,
        prompt=job.prompt,
        source=job.source,
        api_key=job.api_key,
        source_asset=job.source_asset,
        inputs=job.inputs,
        retry_of=job,
    )


def cancel(job: Job) -> bool:
    """Cancel a job that has not started; release its credits. Return False if it had."""
    return _finish_badly(
        job,
        "cancelled",
        "Cancelled before it started. No credits were charged.",
        statuses=(JobStatus.QUEUED,),
        status=JobStatus.CANCELLED,
    )


# ---- terminal transitions --------------------------------------------------------------------


def _complete(
    job: Job, stored: list[media.StoredMedia], delivered: Decimal | int, now=None
) -> bool:
    """Mark `job` completed with its stored outputs and capture what was delivered.

    Return False (and delete the files) when another runner already ended the job.
    """
    now = now or timezone.now()
    won = False
    try:
        with transaction.atomic():
            won = bool(
                Job.objects.filter(pk=job.pk, status=JobStatus.PROCESSING).update(
                    status=JobStatus.COMPLETED,
                    progress=100,
                    finished_at=now,
                    lease_until=None,
                    next_poll_at=None,
                    error_code="",
                    error_message="",
                )
            )
            if won:
                for item in stored:
                    media.make_asset(
                        item,
                        workspace_id=job.workspace_id,
                        user_id=job.user_id,
                        job=job,
                        parent_id=job.source_asset_id,
                        made_by=job.kind,
                        prompt=job.prompt,
                        model=job.model,
                        created_at=now,
                    )
                ledger.capture(job, job.quote_obj.for_delivery(delivered), now)
    finally:
        if not won:
            for item in stored:
                item.delete()
    return won


def _finish_badly(
    job: Job,
    code: str,
    message: str,
    *,
    statuses=ACTIVE_STATUSES,
    status: str = JobStatus.FAILED,
    now=None,
) -> bool:
    """Move `job` from one of `statuses` to failed/cancelled and release all its credits.

    Return False when it was no longer in one of `statuses` (someone else ended it).
    """
    now = now or timezone.now()
    with transaction.atomic():
        won = Job.objects.filter(pk=job.pk, status__in=statuses).update(
            status=status,
            error_code=code[:40],
            error_message=message,
            finished_at=now,
            lease_until=None,
            next_poll_at=None,
        )
        if won:
            ledger.release(job, code[:40], now)
    if won:
        log.info("job %s %s: %s", job.public_id, status, code)
    return bool(won)


def fail(job: Job, code: str, message: str, now=None) -> bool:
    return _finish_badly(job, code, message, now=now)


def _provider_failure(error: ProviderError) -> tuple[str, str]:
    if error.permanent:
        return error.code, error.message
    return error.code, (
        f"{error.message} This is usually temporary: press Retry in a moment. "
        "No credits were charged."
    )


# ---- running ---------------------------------------------------------------------------------


@contextmanager
def _heartbeat(job_id: int):
    """Renew the job's lease every HEARTBEAT seconds while the block runs, so a slow provider
    call is not mistaken for a dead worker."""
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(HEARTBEAT):
                Job.objects.filter(pk=job_id, status=JobStatus.PROCESSING).update(
                    lease_until=timezone.now() + timedelta(seconds=RUN_LEASE)
                )
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def run_job(job_id: int) -> str:
    """Run a queued job (the django-q2 task). Safe to call twice: only one run claims it."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.PROCESSING,
        started_at=now,
        progress=5,
        attempts=F("attempts") + 1,
        lease_until=now + timedelta(seconds=RUN_LEASE),
    )
    if not claimed:
        return "not queued"
    job = Job.objects.select_related("source_asset", "workspace").get(pk=job_id)
    if now >= job.deadline_at:
        _timeout(job, now)
        return "timed out"
    provider = get_provider(job.provider)
    try:
        with _heartbeat(job.pk):
            if job.kind == JobKind.ANIMATE:
                _submit_video(job, provider)
            else:
                _run_images(job, provider)
    except ProviderError as e:
        fail(job, *_provider_failure(e))
    except media.MediaError as e:
        fail(
            job,
            "bad_output",
            f"The model returned a file we couldn't use ({e}). No credits were charged.",
        )
    except Exception:
        log.exception("job %s crashed", job.public_id)
        fail(job, "internal_error", "Something went wrong on our side. No credits were charged.")
    return Job.objects.values_list("status", flat=True).get(pk=job_id)


def _from_storage(name: str, content_type: str | None = None) -> InputImage:
    """An image we send to the provider, read from our storage: an edit's source or reference
    images, or its mask. Its name keeps the real extension, its type is the stored one."""
    with default_storage.open(name, "rb") as f:
        data = f.read()
    content_type = content_type or mimetypes.guess_type(name)[0] or "image/png"
    return InputImage(data=data, filename=os.path.basename(name), content_type=content_type)


def _input_image(asset) -> InputImage:
    image = _from_storage(asset.file.name, asset.content_type)
    image.url = media.public_url(asset)
    return image


def _store_output(job: Job, provider, output) -> media.StoredMedia:
    """Copy one provider output into our storage (before the job may complete)."""
    with tempfile.NamedTemporaryFile(dir=media.temp_dir(), prefix="out-") as tmp:
        fetched = provider.fetch(output, tmp)
        tmp.flush()
        if fetched.content_type.startswith("video/"):
            return media.store_video(tmp.name, workspace_id=job.workspace_id)
        return media.store_image(tmp, workspace_id=job.workspace_id)


def _store_all(job: Job, provider, outputs, limit: int) -> list[media.StoredMedia]:
    stored: list[media.StoredMedia] = []
    try:
        for output in outputs[:limit]:
            stored.append(_store_output(job, provider, output))
    except BaseException:
        for item in stored:
            item.delete()
        raise
    return stored


def _run_images(job: Job, provider) -> None:
    q = job.quote_obj
    if job.kind == JobKind.GENERATE:
        result = provider.generate_images(
            model=job.model, prompt=job.prompt, n=q.n, size=q.size, quality=q.quality
        )
    else:
        images = [_input_image(job.source_asset)]
        images += [_from_storage(name) for name in job.inputs.get("images", [])]
        mask = _from_storage(job.inputs["mask"]) if job.inputs.get("mask") else None
        result = provider.edit_images(
            model=job.model,
            prompt=job.prompt,
            images=images,
            mask=mask,
            n=q.n,
            size=q.size,
            quality=q.quality,
        )
    stored = _store_all(job, provider, result.outputs, q.n)
    if not stored:
        fail(job, "no_output", "The model returned no image. No credits were charged.")
        return
    _complete(job, stored, len(stored))


def _submit_video(job: Job, provider) -> None:
    q = job.quote_obj
    image = _input_image(job.source_asset) if job.source_asset_id else None
    state = provider.submit_video(
        model=job.model,
        prompt=job.prompt,
        duration=q.duration,
        size=q.size,
        quality=q.quality,
        input_image=image,
    )
    now = timezone.now()
    Job.objects.filter(pk=job.pk, status=JobStatus.PROCESSING).update(
        provider_task_id=state.id,
        lease_until=None,
        progress=max(5, min(state.progress, 99)),
        next_poll_at=now + timedelta(seconds=POLL_FIRST),
    )
    ensure_pump(now)


def _timeout(job: Job, now) -> bool:
    minutes = max(1, round(tables.MODELS[job.model].timeout / 60))
    return fail(
        job,
        "timeout",
        f"{job.model} didn't finish within {minutes} minutes, so we "
        "stopped waiting. No credits were charged.",
        now,
    )


# ---- polling ---------------------------------------------------------------------------------


def in_flight():
    """Jobs waiting on an async provider task."""
    return Job.objects.filter(status=JobStatus.PROCESSING).exclude(provider_task_id="")


def _backoff(polls: int) -> float:
    return min(POLL_MAX, POLL_FIRST * 2**polls)


def _delivered_seconds(state, stored: list[media.StoredMedia]) -> Decimal:
    seconds = state.duration or sum(s.duration or 0 for s in stored)
    # A container's duration is off by a frame or so; 4.96 s of a 5 s clip is 5 s delivered.
    nearest = round(seconds)
    if abs(seconds - nearest) <= 0.1:
        seconds = nearest
    return Decimal(str(round(seconds, 2)))


def poll_job(job_id: int, now=None) -> None:
    """Ask the provider about one in-flight job and act on the answer."""
    now = now or timezone.now()
    job = Job.objects.select_related("source_asset").get(pk=job_id)
    if job.status != JobStatus.PROCESSING:
        return
    if now >= job.deadline_at:
        _timeout(job, now)
        return
    provider = get_provider(job.provider)
    try:
        state = provider.get_task(job.provider_task_id)
        if state.status == "completed":
            stored = _store_all(job, provider, state.outputs, 1)
            if not stored:
                fail(
                    job, "no_output", "The model finished without a video. No credits were charged."
                )
                return
            _complete(job, stored, _delivered_seconds(state, stored))
            return
    except ProviderError as e:
        if e.permanent:
            fail(job, *_provider_failure(e))
        else:  # the provider is busy or unreachable: ask again later
            delay = max(_backoff(job.polls), e.retry_after or 0)
            Job.objects.filter(pk=job.pk, status=JobStatus.PROCESSING).update(
                polls=F("polls") + 1, next_poll_at=now + timedelta(seconds=delay)
            )
        return
    except media.MediaError as e:
        fail(
            job,
            "bad_output",
            f"The model returned a video we couldn't use ({e}). No credits were charged.",
        )
        return
    if state.status == "failed":
        fail(
            job,
            state.error_code or "generation_failed",
            (state.error_message or "The model could not make this video.")
            + " No credits were charged.",
        )
        return
    Job.objects.filter(pk=job.pk, status=JobStatus.PROCESSING).update(
        progress=max(5, min(int(state.progress or 0), 99)),
        polls=F("polls") + 1,
        next_poll_at=now + timedelta(seconds=_backoff(job.polls)),
    )


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
    due = (
        in_flight()
        .filter(next_poll_at__lte=now)
        .order_by("next_poll_at")
        .values_list("id", "next_poll_at")[:POLL_BATCH]
    )
    claimed = [
        job_id
        for job_id, at in due
        # Claim by moving next_poll_at forward from the value we read: of two pollers, one wins.
        if Job.objects.filter(pk=job_id, status=JobStatus.PROCESSING, next_poll_at=at).update(
            next_poll_at=now + timedelta(seconds=POLL_CLAIM)
        )
    ]
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
                recover(now)
                last_recover = time.monotonic()
            polled += poll_due(now)
            if not in_flight().exists():
                break
            time.sleep(PUMP_TICK)
    finally:
        Lease.release(PUMP, holder)
    if in_flight().exists():
        _start_pump()
    return f"polled {polled}"


def _start_pump() -> None:
    from django_q.tasks import async_task

    async_task("studio.generations.runner.pump", task_name="poller", group="poller")


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


# ---- recovering ------------------------------------------------------------------------------


def recover(now=None) -> int:
    """Mend what dead workers and lost messages left behind; return how many jobs moved."""
    now = now or timezone.now()
    moved = 0
    for job in Job.objects.filter(status__in=ACTIVE_STATUSES, deadline_at__lte=now):
        moved += _timeout(job, now)
    # A worker died during a provider call (its lease ran out without a task id).
    for job in Job.objects.filter(
        status=JobStatus.PROCESSING, provider_task_id="", lease_until__lt=now
    ):
        provider = get_provider(job.provider)
        if provider.idempotent_submit and job.attempts < MAX_RUNS:
            requeued = Job.objects.filter(
                pk=job.pk, status=JobStatus.PROCESSING, lease_until=job.lease_until
            ).update(
                status=JobStatus.QUEUED,
                progress=0,
                lease_until=now + timedelta(seconds=QUEUED_RESEND),
            )
            if requeued:
                log.warning("job %s: its worker died; running it again", job.public_id)
                enqueue(job)
                moved += 1
        else:
            moved += _finish_badly(
                job,
                "worker_lost",
                "The worker stopped while this was being made, and the request can't be "
                "repeated safely. No credits were charged: press Retry to run it again.",
                statuses=(JobStatus.PROCESSING,),
                now=now,
            )
    # A queue message was lost (a broker restart, a crash between commit and enqueue).
    for job in Job.objects.filter(status=JobStatus.QUEUED, lease_until__lt=now):
        if Job.objects.filter(
            pk=job.pk, status=JobStatus.QUEUED, lease_until=job.lease_until
        ).update(lease_until=now + timedelta(seconds=QUEUED_RESEND)):
            enqueue(job)
            moved += 1
    return moved


def tick() -> str:
    """The minute schedule: recover, and make sure in-flight videos are being polled."""
    moved = recover()
    started = ensure_pump()
    return f"recovered {moved}, poller {'started' if started else 'running or idle'}"


def wait(job: Job, timeout: float) -> Job:
    """Return `job` once it has ended, or as it is after `timeout` seconds (for sync calls)."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        job.refresh_from_db()
        if job.is_final or time.monotonic() >= deadline:
            return job
        time.sleep(delay)
        delay = min(0.5, delay * 1.5)

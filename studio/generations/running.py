"""Running: a claimed job's provider call, then one short transaction that settles it.

A run is two halves, so no transaction is ever open across slow work:

1. `_make` does all the slow work with no transaction open: the provider call (images: the
   outputs are then copied into our storage and checked; video: the provider task is
   submitted). It returns an Outcome and never raises.
2. `_settle` moves the job with one of its conditional-UPDATE methods (complete, fail,
   wait_for_task), in a transaction that only touches rows.

`run_job` is the worker's task. `run_in_request` is the same run for a sync /v1 call, whose
job was not queued: the slow half runs on a thread of its own while the request waits at
most API_SYNC_WAIT seconds; if that isn't enough the request answers with the task id and
the thread settles the job when it is done. `cancel` ends a job a person cancels.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from studio.catalog.quote import image_options
from studio.generations import media, polling
from studio.generations.models import Job, JobKind
from studio.generations.outputs import failure_of, store_outputs
from studio.lib.transactions import outside_transaction
from studio.ops import logs
from studio.providers.base import InputImage, Provider, ProviderError, TaskState, get_provider

log = logging.getLogger(__name__)

# A run renews its job's lease (models.RUN_LEASE, 60 s) this often.
HEARTBEAT = 20


@dataclass
class Outcome:
    """What the slow half of a run produced: stored outputs, a provider task, or a failure."""

    outputs: list = field(default_factory=list)
    delivered: Decimal | int = 0
    task: TaskState | None = None
    failure: tuple[str, dict] | None = None


@logs.isolated
def run_job(job_id: int) -> str:
    """Run a queued job (the django-q2 task); return its status after. Safe to deliver twice:
    only one run claims it."""
    now = timezone.now()
    job = Job.objects.select_related("source_asset").filter(pk=job_id).first()
    if job is None or not job.claim(now):
        return "not queued"
    logs.bind_job(job)
    log.info("running %s %s on %s (run %d)", job.kind, job.model, job.provider, job.attempts)
    if now >= job.deadline_at:
        job.time_out(now)
        return "timed out"
    provider = get_provider(job.provider)
    _settle(job, _make(job, provider), provider)
    return Job.objects.values_list("status", flat=True).get(pk=job_id)


def run_in_request(job: Job, wait: float) -> Job:
    """Run `job` (queued, and never enqueued) for a sync call; return it as it is once it
    has ended or after `wait` seconds, whichever comes first.

    If this process dies mid-run, the job's lease runs out and recovering.recover takes it
    over, as it does for a dead worker.
    """
    now = timezone.now()
    if job.claim(now):
        provider = get_provider(job.provider)
        outcome = _Background(job, provider).result(wait)
        if outcome is not None:
            _settle(job, outcome, provider)
    job.refresh_from_db()
    return job


class _Background:
    """The slow half of one run on a thread of its own, settled by whoever is still there:
    the request, if it finished within the wait; otherwise the thread itself."""

    def __init__(self, job: Job, provider: Provider):
        self.job, self.provider = job, provider
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.outcome: Outcome | None = None
        self.abandoned = False
        threading.Thread(
            # In the request's log context: its lines carry the request's id.
            target=logs.copy_context_run(self._work),
            name=f"run-{job.public_id}",
            daemon=True,
        ).start()

    def _work(self) -> None:
        outcome = _make(self.job, self.provider)
        with self.lock:
            self.outcome = outcome
            self.done.set()
            settle_here = self.abandoned
        if settle_here:
            try:
                _settle(self.job, outcome, self.provider)
            finally:
                connection.close()  # this thread's own connection

    def result(self, wait: float) -> Outcome | None:
        """The outcome, if it is ready within `wait` seconds; else None, and the thread
        settles the job when it is done."""
        self.done.wait(wait)
        with self.lock:
            if self.outcome is None:
                self.abandoned = True
            return self.outcome


def _make(job: Job, provider: Provider) -> Outcome:
    """The slow half of a run: no transaction open, no job row changed. Never raises."""
    try:
        with _heartbeat(job.pk):
            if job.kind == JobKind.ANIMATE:
                return Outcome(task=_submit_video(job, provider))
            return _make_images(job, provider)
    except Exception as e:
        return Outcome(failure=failure_of(e, job))


def _settle(job: Job, outcome: Outcome, provider: Provider) -> None:
    now = timezone.now()
    if outcome.failure:
        if job.fail(*outcome.failure, now=now):
            log.info("failed: %s", outcome.failure[0])
    elif outcome.task is not None:
        first_poll = now + timedelta(seconds=polling.POLL_FIRST)
        if job.wait_for_task(outcome.task.id, outcome.task.progress, first_poll):
            log.info("waiting for %s task %s", provider.name, outcome.task.id)
            polling.ensure_pump(now)
        else:  # cancelled while the submit was on its way: stop what it started
            _stop(job, provider, outcome.task.id)
    elif job.complete(outcome.outputs, outcome.delivered, now):
        log.info("completed: %s delivered", outcome.delivered)
    else:
        log.info("ended meanwhile (cancelled or timed out): its outputs are not kept")


def _stop(job: Job, provider: Provider, task_id: str) -> None:
    if not provider.can_cancel:
        return
    try:
        provider.cancel(task_id)
    except ProviderError:
        # The credits are released and nobody polls it any more; its output, if it comes,
        # is never fetched.
        log.warning("job %s: the provider could not stop its task", job.public_id)


@contextmanager
def _heartbeat(job_id: int):
    """Renew the job's lease every HEARTBEAT seconds while the block runs, so a slow provider
    call is not mistaken for a dead worker."""
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(HEARTBEAT):
                Job(pk=job_id).beat(timezone.now())
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


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


def _make_images(job: Job, provider: Provider) -> Outcome:
    q = job.quote_obj
    options = image_options(job.params)
    if job.kind == JobKind.GENERATE:
        result = provider.generate_images(
            model=job.model,
            prompt=job.prompt,
            n=q.n,
            size=q.size,
            quality=q.quality,
            options=options,
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
            options=options,
        )
    stored = store_outputs(job, provider, result.outputs[: q.n], options)
    if not stored:
        return Outcome(failure=("no_output", {}))
    return Outcome(outputs=stored, delivered=len(stored))


def _submit_video(job: Job, provider: Provider) -> TaskState:
    q = job.quote_obj
    return provider.submit_video(
        model=job.model,
        prompt=job.prompt,
        duration=q.duration,
        size=q.size,
        quality=q.quality,
        input_image=_input_image(job.source_asset) if job.source_asset_id else None,
    )


def cancel(job: Job, now=None, *, staff=None) -> bool:
    """Cancel `job` and release its credits: a queued one always; a running one when its
    provider can stop it (Provider.can_cancel), which is then told to. `staff`: the staff
    member cancelling it from the admin. Return False when it can't be cancelled: it has
    ended, or it runs on a provider that can't stop it."""
    provider = get_provider(job.provider)
    if not job.cancel(now, running=provider.can_cancel, staff=staff):
        return False
    if job.provider_task_id:
        _stop(job, provider, job.provider_task_id)
    return True


def wait(job: Job, timeout: float) -> Job:
    """Return `job` once it has ended, or as it is after `timeout` seconds: a sync call
    repeated with its Idempotency-Key waits for the first call's job this way."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        job.refresh_from_db()
        if job.is_final or time.monotonic() >= deadline:
            return job
        outside_transaction("waiting for a job")
        time.sleep(delay)
        delay = min(0.5, delay * 1.5)

"""Submitting: a request becomes a Job with its credits reserved, then is run or queued.

`submit` checks and prices the request (the catalog), then creates the Job and reserves its
credits in one short transaction that only touches rows; a refused reservation leaves
nothing behind. Whatever is slow (decoding uploads, fetching an input image) has happened
before, in the caller. The job is then queued for a worker when the transaction commits —
or, for a sync /v1 call, not queued but run by the request itself (running.run_in_request):
one or the other, never both.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from studio.catalog import tables
from studio.catalog.quote import check_prompt, image_options, quote
from studio.credits import ledger
from studio.errors import StudioError
from studio.generations.models import QUEUED_RESEND, Job, JobKind, JobSource
from studio.ops import logs
from studio.providers.base import get_provider

log = logging.getLogger(__name__)

ENDPOINT_OF = {
    JobKind.GENERATE: tables.GENERATIONS,
    JobKind.EDIT: tables.EDITS,
    JobKind.ANIMATE: tables.VIDEOS,
}


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
    board_id: int | None = None,
    enqueue_job: bool = True,
    staff=None,
) -> Job:
    """Price `request`, create the Job and reserve its credits; queue it on commit unless
    `enqueue_job` is False (the caller runs it). `user` is who spends (their monthly limit
    applies); `staff` names a staff member submitting it for them from the admin. Its outputs
    file themselves into the board `board_id` (of the same workspace: the caller checked) when
    it completes.

    Raise StudioError for a bad request and ledger.InsufficientCredits (402) when the credits
    can't cover it — before anything is queued or any provider is called.
    """
    prompt = check_prompt(prompt)
    q = quote({**request, "endpoint": ENDPOINT_OF[kind]})
    if q.kind == tables.IMAGE:
        image_options(request)
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
            board_id=board_id,
            request_id=logs.current("request_id") or "",
            provider=provider.name,
            created_at=now,
            deadline_at=now + timedelta(seconds=tables.MODELS[q.model].timeout),
            # Not yet claimed by then: its queue message (or the request running it) is lost.
            lease_until=now + QUEUED_RESEND,
        )
        ledger.reserve(workspace, user, job, q, now, staff=staff)
        if enqueue_job:
            transaction.on_commit(lambda: enqueue(job))
    logs.bind(job_id=job.public_id)
    log.info(
        "submitted %s %s on %s, %s credits reserved", job.kind, job.model, job.provider, q.credits
    )
    return job


def enqueue(job: Job) -> None:
    """Queue `job` for a worker (django-q2). Safe to repeat: only one run claims it."""
    from django_q.tasks import async_task

    async_task(
        "studio.generations.running.run_job",
        job.pk,
        task_name=f"run {job.public_id}",
        group="jobs",
    )


def retry(job: Job, user, *, staff=None) -> Job:
    """Submit `job`'s request again, as a new job (the failed one stays as it was), spent by
    `user`; `staff` names a staff member retrying it for them from the admin."""
    return submit(
        workspace=job.workspace,
        user=user,
        staff=staff,
        kind=job.kind,
        request=job.params,
        prompt=job.prompt,
        source=job.source,
        api_key=job.api_key,
        source_asset=job.source_asset,
        inputs=job.inputs,
        retry_of=job,
        board_id=job.board_id,
    )

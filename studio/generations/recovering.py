"""Recovering: mending what dead workers, lost queue messages and silent models left behind.

`recover` runs in every poller every few seconds and in the minute schedule (runner.tick):

- a job past its model's deadline (active, deadline passed): failed as `timeout`, all its
  credits released;
- a run whose worker (or sync request) died before any provider task (processing, no task
  id, lease run out): run again when the provider's submit is safe to repeat (the local
  renderer), up to MAX_RUNS times; otherwise failed as `worker_lost`, since repeating a POST
  that may have been accepted could charge twice upstream;
- a lost queue message (queued, lease run out): enqueued again.

Each fix is one of the Job's conditional-UPDATE methods, so two recoverers never both act.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from studio.generations.models import ACTIVE_STATUSES, Job, JobStatus
from studio.generations.submitting import enqueue
from studio.providers.base import get_provider

log = logging.getLogger(__name__)

# Runs of one job before a crash-looping job is failed instead of queued again.
MAX_RUNS = 3


def recover(now=None) -> int:
    """Mend what dead workers and lost messages left behind; return how many jobs moved."""
    now = now or timezone.now()
    moved = 0
    for job in Job.objects.filter(status__in=ACTIVE_STATUSES, deadline_at__lte=now):
        moved += job.time_out(now)
    for job in Job.objects.filter(
        status=JobStatus.PROCESSING, provider_task_id="", lease_until__lt=now
    ):
        if get_provider(job.provider).idempotent_submit and job.attempts < MAX_RUNS:
            if job.requeue(now):
                log.warning("job %s: its worker died; running it again", job.public_id)
                enqueue(job)
                moved += 1
        # Failed only if still the run whose lease ran out (a late heartbeat may revive it).
        elif job.fail(
            "worker_lost",
            now=now,
            statuses=(JobStatus.PROCESSING,),
            match={"provider_task_id": "", "lease_until": job.lease_until},
        ):
            moved += 1
    for job in Job.objects.filter(status=JobStatus.QUEUED, lease_until__lt=now):
        if job.resend(now):
            enqueue(job)
            moved += 1
    return moved

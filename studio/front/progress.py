"""How far along a running job is, for its card: a percentage and the seconds left.

Image providers report nothing between "started" and "done" (the job sits at 5 % for the
whole render), and a video's progress starts late. So the card estimates from how long this
model took recently for the same tier, per image or per second of video — measured from the
jobs themselves, not guessed — and uses the provider's own figure once it is ahead.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache

from studio.generations.models import Job, JobStatus

# Before a model has any history here: seconds per image, per second of video.
FIRST_GUESS = {"image": 8.0, "second": 6.0}
HISTORY = 20  # recent jobs the typical time is the median of
CACHE_SECONDS = 60
# Never show 100 % before the job has ended, however late it runs.
CEILING = 95


def typical_seconds(job: Job) -> float:
    """Seconds a job like `job` (model, tier, images or seconds of video) usually runs."""
    q = job.quote
    per_unit = cache.get_or_set(
        f"typical:{job.model}:{q.get('tier')}:{q.get('unit')}",
        lambda: _per_unit(job.model, q.get("tier"), q.get("unit")),
        CACHE_SECONDS,
    )
    return per_unit * max(1, int(q.get("units") or 1))


def _per_unit(model: str, tier: str | None, unit: str | None) -> float:
    recent = (
        Job.objects.filter(
            model=model, status=JobStatus.COMPLETED, started_at__isnull=False, quote__tier=tier
        )
        .order_by("-finished_at")
        .values_list("started_at", "finished_at", "quote")[:HISTORY]
    )
    samples = [
        (finished - started).total_seconds() / max(1, int(quote.get("units") or 1))
        for started, finished, quote in recent
        if finished and finished > started
    ]
    if samples:
        return statistics.median(samples)
    return FIRST_GUESS.get(unit or "image", FIRST_GUESS["image"])


@dataclass(frozen=True)
class Estimate:
    percent: int
    seconds_left: int | None  # None: not started, nothing to estimate from yet

    @property
    def minutes_left(self) -> int:
        return round((self.seconds_left or 0) / 60)


def estimate(job: Job, now: datetime, typical: float | None = None) -> Estimate:
    """The progress bar and time left of an active job, at `now`."""
    if job.status != JobStatus.PROCESSING or job.started_at is None:
        return Estimate(job.progress, None)
    typical = typical if typical is not None else typical_seconds(job)
    elapsed = max(0.0, (now - job.started_at).total_seconds())
    by_time = 100 * elapsed / typical if typical > 0 else 0
    reported = job.progress
    if reported > 5 and reported >= by_time:
        # The provider reports real progress and is ahead of the clock: trust its pace.
        left = elapsed * (100 - reported) / reported
        percent = reported
    else:
        left = typical - elapsed
        percent = by_time
    percent = max(reported, min(CEILING, round(percent)))
    return Estimate(percent, max(0, round(left)))

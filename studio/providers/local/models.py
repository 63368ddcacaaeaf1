"""The local renderer's task table: one row per video it was asked to render.

The row is the whole truth about a render: django-q2 only carries the task id. Every state
change is a conditional UPDATE on (id, attempt, status) and acts only when it changed one row,
so a duplicate delivery, a worker that was given up on, and two pollers noticing the same dead
render never both act.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import models
from django.db.models import F

from studio.lib.rows import update_if
from studio.providers.base import COMPLETED, FAILED, PROCESSING, QUEUED

# A render beats at least this often while it writes frames (see provider.HEARTBEAT_EVERY); one
# silent for longer is presumed dead (its worker was killed), and so is a queued render that no
# worker picked up in that time (the enqueue was lost).
STALE_AFTER = timedelta(seconds=15)
# A render that keeps dying (it runs the worker out of memory, say) is failed after this many.
MAX_RENDERS = 3


class LocalTask(models.Model):
    STATUSES = [(s, s) for s in (QUEUED, PROCESSING, COMPLETED, FAILED)]

    id = models.CharField(primary_key=True, max_length=40, editable=False)
    # What was asked: model, prompt, duration, size, quality, input (a file path or None).
    request = models.JSONField()
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    # Bumped each time the render is queued again: a render owns the row only for the
    # attempt it claimed, so one that was given up on can't write over its successor.
    attempt = models.PositiveIntegerField(default=1)
    renders = models.PositiveIntegerField(default=0)  # renders started, for MAX_RENDERS
    # While queued: when it was queued. While processing: the render's last sign of life.
    heartbeat_at = models.DateTimeField()
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    output_path = models.CharField(max_length=500, blank=True)
    # Seconds delivered; credits are captured per second, so no float.
    duration = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"{self.id} ({self.status} {self.progress}%)"

    def _update(self, statuses: tuple[str, ...], **changes) -> bool:
        """Apply `changes` if the row is still at this attempt in one of `statuses`."""
        rows = LocalTask.objects.filter(pk=self.pk, attempt=self.attempt, status__in=statuses)
        return update_if(self, rows, **changes)

    def claim(self, now: datetime) -> bool:
        """Start rendering this attempt: queued → processing. Return False when it is not
        queued at this attempt any more (another delivery took it, it finished, or it was
        queued again), in which case the caller must do nothing."""
        claimed = self._update(
            (QUEUED,), status=PROCESSING, heartbeat_at=now, progress=0, renders=F("renders") + 1
        )
        if claimed:
            self.renders += 1
        return claimed

    def beat(self, progress: int, now: datetime) -> bool:
        """Record progress and a sign of life. Return False when this render no longer owns
        the row (it was presumed dead and queued again): the render must stop."""
        return self._update((PROCESSING,), progress=progress, heartbeat_at=now)

    def complete(self, output_path: str, duration: Decimal, now: datetime) -> bool:
        """processing → completed with the output. Return False when this render lost the row."""
        return self._update(
            (PROCESSING,),
            status=COMPLETED,
            progress=100,
            output_path=output_path,
            duration=duration,
            heartbeat_at=now,
            finished_at=now,
        )

    def fail(self, code: str, message: str, now: datetime) -> bool:
        """End the task as failed with a code and a message safe to show."""
        return self._update(
            (QUEUED, PROCESSING),
            status=FAILED,
            error_code=code,
            error_message=message[:500],
            heartbeat_at=now,
            finished_at=now,
        )

    def cancel(self, now: datetime) -> bool:
        """End the task as cancelled (failed, code "cancelled"), queued or rendering. The
        render finds out at its next beat, which no longer matches, and stops; a queued one
        is never claimed. Return False when it had already ended."""
        return self.fail("cancelled", "Cancelled.", now)

    def is_stale(self, now: datetime) -> bool:
        return self.status in (QUEUED, PROCESSING) and self.heartbeat_at < now - STALE_AFTER

    def requeue_if_stale(self, now: datetime) -> bool:
        """Queue a render that looks dead again, as attempt + 1; return True when this caller
        did it (and must enqueue it). Of several callers seeing the same dead render, only
        one wins: the UPDATE matches the attempt they all read, and it changes it."""
        if not self.is_stale(now):
            return False
        if self.status == PROCESSING and self.renders >= MAX_RENDERS:
            self.fail(
                "internal_error",
                f"The local renderer was interrupted {self.renders} times on this video "
                "and gave up.",
                now,
            )
            return False
        changed = LocalTask.objects.filter(
            pk=self.pk,
            attempt=self.attempt,
            status=self.status,
            heartbeat_at__lt=now - STALE_AFTER,
        ).update(status=QUEUED, attempt=F("attempt") + 1, progress=0, heartbeat_at=now)
        if changed:
            self.status, self.attempt, self.progress, self.heartbeat_at = (
                QUEUED,
                self.attempt + 1,
                0,
                now,
            )
        return changed == 1

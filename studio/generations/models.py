"""Jobs (one request to make media) and Assets (the media we keep).

A Job owns its state machine:

    queued ──claim──► processing ──complete──► completed
      │  ▲               │   └──wait_for_task──► (processing, polled; see generations.polling)
      │  └───requeue─────┤
      └──cancel / fail───┴──cancel / fail / time_out──► cancelled / failed

Every move is a method below doing one conditional UPDATE
(`UPDATE job SET status=<new> … WHERE id=? AND status=<expected>`) and returning whether it
won: when two workers, a restarted worker, a poller and a person pressing Cancel race, exactly
one wins, and only the winner captures or releases the job's credits. Each method names the
race it closes. See docs/jobs.md for how jobs are run and recovered.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from studio.catalog import tables
from studio.catalog.quote import Quote
from studio.credits import ledger
from studio.gallery.models import Board, Share
from studio.generations import failures
from studio.lib.rows import update_if


def new_task_id() -> str:
    return "task_" + secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")


def new_asset_uid() -> str:
    return secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


class JobKind(models.TextChoices):
    GENERATE = "generate", "Generate"
    EDIT = "edit", "Edit"
    ANIMATE = "animate", "Animate"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.PROCESSING)

# A run holds its job this long, renewing it while it works (generations.running).
RUN_LEASE = timedelta(seconds=60)
# A queued job whose queue message hasn't been picked up by then is enqueued again; well
# inside the shortest model deadline (5 min), so a lost message is resent before it times out.
QUEUED_RESEND = timedelta(seconds=90)
# A poller holds a job it claimed to poll this long (generations.polling).
POLL_CLAIM = timedelta(seconds=120)


class JobSource(models.TextChoices):
    STUDIO = "studio", "Studio"
    API = "api", "API"


class JobQuerySet(models.QuerySet):
    def for_workspace(self, workspace) -> JobQuerySet:
        return self.filter(workspace=workspace)


class Job(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=new_task_id)
    workspace = models.ForeignKey("accounts.Workspace", models.CASCADE, related_name="jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="jobs")
    api_key = models.ForeignKey(
        "accounts.ApiKey", models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    kind = models.CharField(max_length=10, choices=JobKind.choices)
    source = models.CharField(max_length=10, choices=JobSource.choices, default=JobSource.STUDIO)
    endpoint = models.CharField(max_length=30)
    model = models.CharField(max_length=60)  # canonical id, never an alias
    prompt = models.TextField()
    # The normalised request (size, quality, n, duration, ...) and the quote it was priced at.
    params = models.JSONField(default=dict)
    quote = models.JSONField(default=dict)
    credits_quoted = models.DecimalField(max_digits=12, decimal_places=2)

    status = models.CharField(
        max_length=12, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(default=0)
    # Why it failed or was cancelled: a code of generations.failures and its parameters; the
    # sentence is written when a page or the API shows it.
    error_code = models.CharField(max_length=40, blank=True)
    error_params = models.JSONField(default=dict, blank=True)

    source_asset = models.ForeignKey(
        "Asset", models.SET_NULL, null=True, blank=True, related_name="derived_jobs"
    )
    # Extra inputs of an edit (more reference images, a mask), kept in our storage.
    inputs = models.JSONField(default=dict, blank=True)
    retry_of = models.ForeignKey("self", models.SET_NULL, null=True, blank=True)
    # The board its outputs file themselves into when it completes (picked at submit time).
    board = models.ForeignKey(
        "gallery.Board", models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    # The id of the request that submitted it (studio.ops.logs): the worker's log lines about
    # this job carry it, so one id leads from the web's log to the worker's.
    request_id = models.CharField(max_length=128, blank=True)

    # Private to the pipeline: never shown to users.
    provider = models.CharField(max_length=20)
    provider_task_id = models.CharField(max_length=100, blank=True)
    # While a worker runs the provider call, it holds the job until lease_until; a lease that
    # ran out means that worker died (see generations.recovering). While queued: when its
    # queue message is presumed lost.
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Async provider tasks: when to poll next and how many polls so far (for backoff).
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    polls = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField()

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"]),
            models.Index(fields=["status", "lease_until"]),
            # /metrics counts jobs by model and status on every scrape: from the index alone.
            models.Index(fields=["model", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.kind} {self.model} ({self.status})"

    @property
    def quote_obj(self) -> Quote:
        return Quote.from_dict(self.quote)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def tool(self) -> str:
        """The usage report's "tool": the studio page it came from, or "api"."""
        return JobSource.API if self.source == JobSource.API else self.kind

    @property
    def output_kind(self) -> str:
        """What this job makes: "image" or "video" (AssetKind)."""
        return AssetKind.VIDEO if self.kind == JobKind.ANIMATE else AssetKind.IMAGE

    @property
    def failure(self) -> str:
        """Why it failed or was cancelled, as a page shows it; "" when it didn't."""
        return failures.describe(self.error_code, self.error_params) if self.error_code else ""

    # ---- transitions: each one conditional UPDATE; True when this caller won --------------

    def _move(self, statuses: tuple[str, ...], *, match: dict | None = None, **changes) -> bool:
        """Apply `changes` if the row is still in one of `statuses` (and matches `match`)."""
        rows = Job.objects.filter(pk=self.pk, status__in=statuses, **(match or {}))
        return update_if(self, rows, **changes)

    def claim(self, now: datetime) -> bool:
        """queued → processing, for one run. Return False when it isn't queued any more: a
        duplicate delivery of its queue message, a second worker, or a message resent after
        the sync request already ran it all try, and only one UPDATE matches 'queued'."""
        claimed = self._move(
            (JobStatus.QUEUED,),
            status=JobStatus.PROCESSING,
            started_at=now,
            progress=5,
            attempts=F("attempts") + 1,
            lease_until=now + RUN_LEASE,
        )
        if claimed:
            self.attempts += 1
        return claimed

    def beat(self, now: datetime) -> bool:
        """Renew a running job's lease, so a slow provider call is not mistaken for a dead
        worker. Return False when it isn't running any more (cancelled, or timed out)."""
        return self._move((JobStatus.PROCESSING,), lease_until=now + RUN_LEASE)

    def wait_for_task(self, task_id: str, progress: int, first_poll: datetime) -> bool:
        """Record the provider's async task and hand the job to the poller: no lease (no
        worker holds it now), first poll at `first_poll`. Return False when it was ended
        meanwhile (cancelled while the submit was on its way)."""
        return self._move(
            (JobStatus.PROCESSING,),
            provider_task_id=task_id,
            lease_until=None,
            progress=max(5, min(progress, 99)),
            next_poll_at=first_poll,
        )

    def claim_poll(self, due_at: datetime, now: datetime) -> bool:
        """Take the poll due at `due_at` by moving next_poll_at forward from the value read:
        of two pollers that read the same due job, one wins and the other skips it."""
        return self._move(
            (JobStatus.PROCESSING,),
            match={"next_poll_at": due_at},
            next_poll_at=now + POLL_CLAIM,
        )

    def poll_later(self, delay: float, now: datetime, progress: int | None = None) -> bool:
        """Schedule the next poll in `delay` seconds, with the progress the provider said.
        Return False when the job ended meanwhile."""
        changes = {"polls": F("polls") + 1, "next_poll_at": now + timedelta(seconds=delay)}
        if progress is not None:
            changes["progress"] = max(5, min(int(progress), 99))
        moved = self._move((JobStatus.PROCESSING,), **changes)
        if moved:
            self.polls += 1
        return moved

    def requeue(self, now: datetime) -> bool:
        """processing → queued again, for a run whose worker died before any provider task
        (its lease ran out). Of several recoverers that read the same dead run, one wins: the
        UPDATE matches the lease they all read and changes it. The caller enqueues it."""
        return self._move(
            (JobStatus.PROCESSING,),
            match={"provider_task_id": "", "lease_until": self.lease_until},
            status=JobStatus.QUEUED,
            progress=0,
            lease_until=now + QUEUED_RESEND,
        )

    def resend(self, now: datetime) -> bool:
        """Keep a queued job whose queue message looks lost, for one resend: of several
        recoverers, the one whose UPDATE moves the lease it read wins and enqueues it."""
        return self._move(
            (JobStatus.QUEUED,),
            match={"lease_until": self.lease_until},
            lease_until=now + QUEUED_RESEND,
        )

    def complete(self, outputs: list, delivered: Decimal | int, now: datetime) -> bool:
        """processing → completed: the stored `outputs` (media.StoredMedia) become its assets
        (filed into its board, if it has one) and the credits for what was `delivered`
        (images, or seconds of video) are captured, the rest released — all in one short
        transaction that touches only rows.

        Return False when it had ended meanwhile (timed out, cancelled, or another run
        completed it): then nothing is charged and the files are deleted.
        """
        won = False
        try:
            with transaction.atomic():
                won = self._move(
                    (JobStatus.PROCESSING,),
                    status=JobStatus.COMPLETED,
                    progress=100,
                    finished_at=now,
                    lease_until=None,
                    next_poll_at=None,
                    error_code="",
                    error_params={},
                )
                if won:
                    made = [
                        Asset.objects.create_from(
                            item,
                            workspace_id=self.workspace_id,
                            user_id=self.user_id,
                            job=self,
                            parent_id=self.source_asset_id,
                            made_by=self.kind,
                            prompt=self.prompt,
                            model=self.model,
                            created_at=now,
                        )
                        for item in outputs
                    ]
                    if self.board_id:
                        Board.add(self.board_id, [a.pk for a in made], self.user_id, now)
                    ledger.capture(self, self.quote_obj.for_delivery(delivered), now)
        finally:
            if not won:
                for item in outputs:
                    item.delete()
        return won

    def fail(
        self,
        code: str,
        params: dict | None = None,
        now: datetime | None = None,
        *,
        statuses: tuple[str, ...] = ACTIVE_STATUSES,
        match: dict | None = None,
    ) -> bool:
        """End the job as failed for `code` (generations.failures) and release all its
        credits. Return False when it wasn't in one of `statuses` any more: of a late
        completion, a timeout and a cancel, only the first ends it."""
        return self._end(JobStatus.FAILED, code, params, now, statuses, match)

    def cancel(self, now: datetime | None = None, *, running: bool = False, staff=None) -> bool:
        """End the job as cancelled and release all its credits: a queued one, or also a
        running one when `running` (its provider can stop it; the caller stops it). `staff`
        names the staff member cancelling it from the admin. Return False when it had started
        (and not `running`) or ended: a worker's claim and a cancel race on the same row, and
        only one UPDATE matches."""
        statuses = ACTIVE_STATUSES if running else (JobStatus.QUEUED,)
        return self._end(JobStatus.CANCELLED, "cancelled", {}, now, statuses, staff=staff)

    def time_out(self, now: datetime) -> bool:
        """Fail a job past its model's deadline (see fail)."""
        minutes = max(1, round(tables.MODELS[self.model].timeout / 60))
        return self.fail("timeout", {"model": self.model, "minutes": minutes}, now)

    def _end(self, status, code, params, now, statuses, match=None, staff=None) -> bool:
        now = now or timezone.now()
        with transaction.atomic():
            won = self._move(
                statuses,
                match=match,
                status=status,
                error_code=code[:40],
                error_params=params or {},
                finished_at=now,
                lease_until=None,
                next_poll_at=None,
            )
            if won:
                ledger.release(self, code[:40], now, staff=staff)
        return won


class AssetKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"


class AssetQuerySet(models.QuerySet):
    def for_workspace(self, workspace) -> AssetQuerySet:
        """The workspace's assets in the gallery (not in the trash), private ones included:
        for the pipeline. Pages show `visible_to(membership)`."""
        return self.filter(workspace=workspace, deleted_at__isnull=True)

    def visible_to(self, membership) -> AssetQuerySet:
        """The gallery as `membership` sees it: its workspace's assets out of the trash, and
        of the private ones only those they made — or all of them for an admin or owner."""
        assets = self.for_workspace(membership.workspace_id)
        if membership.is_admin:
            return assets
        return assets.filter(models.Q(private=False) | models.Q(user_id=membership.user_id))

    def in_trash_of(self, membership) -> AssetQuerySet:
        """The trash as `membership` sees it: what they deleted or made, or, for an admin or
        owner, everything the workspace deleted."""
        assets = self.filter(workspace_id=membership.workspace_id, deleted_at__isnull=False)
        if membership.is_admin:
            return assets
        return assets.filter(user_id=membership.user_id)

    def discard(self, now: datetime) -> int:
        """Move these assets to the trash and stop their share links, in one transaction;
        return how many moved. (Their jobs, and what was charged, stay on record; the trash
        keeps them for gallery.lifecycle.RESTORE_DAYS.)"""
        with transaction.atomic():
            ids = list(self.filter(deleted_at__isnull=True).values_list("pk", flat=True))
            moved = Asset.objects.filter(pk__in=ids).update(deleted_at=now)
            Share.objects.filter(asset_id__in=ids).stop(now)
        return moved

    def create_from(self, stored, **fields) -> Asset:
        """Create the Asset row of a file already in our storage (media.StoredMedia)."""
        return self.create(
            uid=stored.uid,
            kind=stored.kind,
            file=stored.name,
            thumbnail=stored.thumbnail,
            content_type=stored.content_type,
            bytes=stored.bytes,
            width=stored.width,
            height=stored.height,
            duration=stored.duration,
            **fields,
        )


def asset_path(asset: Asset, filename: str) -> str:
    return f"assets/{asset.workspace_id}/{asset.uid}/{filename}"


class Asset(models.Model):
    uid = models.CharField(max_length=24, unique=True, default=new_asset_uid)
    workspace = models.ForeignKey("accounts.Workspace", models.CASCADE, related_name="assets")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="assets")
    job = models.ForeignKey(Job, models.SET_NULL, null=True, blank=True, related_name="assets")
    parent = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="children"
    )
    kind = models.CharField(max_length=10, choices=AssetKind.choices)
    # What made it: "upload", a job kind (generate / edit / animate) or a free local tool
    # (crop, resize, rotate, flip, adjust).
    made_by = models.CharField(max_length=20)
    file = models.FileField(upload_to=asset_path, max_length=255)
    thumbnail = models.FileField(upload_to=asset_path, max_length=255, blank=True)
    content_type = models.CharField(max_length=40)
    bytes = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration = models.FloatField(null=True, blank=True)  # seconds of video; never money
    prompt = models.TextField(blank=True)
    model = models.CharField(max_length=60, blank=True)
    # Seen only by its maker and the workspace's admins and owners (never shared).
    private = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # In the trash since then; restorable for gallery.lifecycle.RESTORE_DAYS, then purged.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"]),
            # The trash and its count, without reading the whole gallery.
            models.Index(fields=["workspace", "deleted_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.uid} ({self.width}x{self.height})"

    def get_absolute_url(self) -> str:
        return reverse("asset", args=[self.uid])

    @property
    def is_video(self) -> bool:
        return self.kind == AssetKind.VIDEO

    @property
    def is_shareable(self) -> bool:
        """In the gallery and seen by the whole team: what a share link may show."""
        return not self.private and self.deleted_at is None

    def get_edit_url(self) -> str:
        return reverse("edit", args=[self.uid])

    def get_animate_url(self) -> str:
        return reverse("animate", args=[self.uid])


class Lease(models.Model):
    """A named lock with an expiry, held by at most one process at a time (the poller).

    Acquired and renewed by conditional UPDATE; a holder that dies simply lets it expire.
    """

    name = models.CharField(max_length=40, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'} until {self.expires_at}"

    @classmethod
    def acquire(cls, name: str, holder: str, seconds: float, now=None) -> bool:
        """Take or renew the lease; return False when someone else holds it."""
        now = now or timezone.now()
        until = now + timedelta(seconds=seconds)
        free = models.Q(expires_at__lt=now) | models.Q(holder=holder)
        if cls.objects.filter(free, name=name).update(holder=holder, expires_at=until):
            return True
        from django.db import IntegrityError, transaction

        try:
            with transaction.atomic():
                cls.objects.create(name=name, holder=holder, expires_at=until)
        except IntegrityError:
            return False
        return True

    @classmethod
    def release(cls, name: str, holder: str, now=None) -> None:
        cls.objects.filter(name=name, holder=holder).update(
            holder="", expires_at=now or timezone.now()
        )

    @classmethod
    def is_held(cls, name: str, now=None) -> bool:
        return cls.objects.filter(name=name, expires_at__gt=now or timezone.now()).exists()

"""Jobs (one request to make media) and Assets (the media we keep).

A Job's status only moves forward, and every move is a conditional UPDATE
(`UPDATE job SET status=<new> WHERE id=? AND status=<expected>`): when two workers, a
restarted worker and a poller race, exactly one wins, and only the winner captures or releases
the job's credits. See docs/jobs.md for how jobs are run and recovered.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from studio.catalog.quote import Quote


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
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)

    source_asset = models.ForeignKey(
        "Asset", models.SET_NULL, null=True, blank=True, related_name="derived_jobs"
    )
    # Extra inputs of an edit (more reference images, a mask), kept in our storage.
    inputs = models.JSONField(default=dict, blank=True)
    retry_of = models.ForeignKey("self", models.SET_NULL, null=True, blank=True)

    # Private to the pipeline: never shown to users.
    provider = models.CharField(max_length=20)
    provider_task_id = models.CharField(max_length=100, blank=True)
    # While a worker runs the provider call, it holds the job until lease_until; a lease that
    # ran out means that worker died (see generations.runner.recover).
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


class AssetKind(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"


class AssetQuerySet(models.QuerySet):
    def for_workspace(self, workspace) -> AssetQuerySet:
        return self.filter(workspace=workspace, deleted_at__isnull=True)


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
    # An unguessable token when shared read-only by link; empty when not shared.
    share_token = models.CharField(max_length=40, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.uid} ({self.width}x{self.height})"

    def get_absolute_url(self) -> str:
        return reverse("asset", args=[self.uid])

    @property
    def is_video(self) -> bool:
        return self.kind == AssetKind.VIDEO

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

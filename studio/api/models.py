from __future__ import annotations

from django.db import models
from django.utils import timezone


class RateBucket(models.Model):
    """A token bucket per API key: `tokens` left as of `updated_at` (see api.auth)."""

    api_key = models.OneToOneField(
        "accounts.ApiKey", models.CASCADE, primary_key=True, related_name="+"
    )
    tokens = models.FloatField()  # request tokens, not money
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.tokens:.1f} tokens for key {self.api_key_id}"


IDEMPOTENCY_KEY_MAX = 255


class IdempotencyRecord(models.Model):
    """The job a POST with an Idempotency-Key created; a repeat gets that job's answer."""

    api_key = models.ForeignKey("accounts.ApiKey", models.CASCADE, related_name="+")
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX)
    endpoint = models.CharField(max_length=60)
    fingerprint = models.CharField(max_length=64)
    job = models.ForeignKey("generations.Job", models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="one_record_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.job_id}"

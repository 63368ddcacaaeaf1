"""Credits: packs, grants, an append-only ledger, and reservations that end exactly once.

Every movement of credits is a LedgerEntry; nothing edits or deletes one. `delta` is the
entry's effect on the workspace's spendable balance:

    grant   +N   a pack (or an adjustment) arrives
    reserve -q   a submit holds its quote, drawn from the grants that expire first
    capture  0   the held credits are spent (amount = what was spent)
    release +r   the unspent part of a hold goes back to the grants it came from
    expire  -x   a grant's remainder is written off when it expires
    adjust  ±    a staff correction

Grant.remaining caches the sum of its entries' deltas (kept in the same transaction as each
entry, and checked against the ledger by tests).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

VALIDITY_DAYS = 365


class Pack(models.Model):
    """A kind of credit bundle staff can grant or issue codes for."""

    name = models.CharField(max_length=100, unique=True)
    credits = models.DecimalField(max_digits=12, decimal_places=2)
    price_label = models.CharField(max_length=40, blank=True, help_text='e.g. "$49"')
    validity_days = models.PositiveIntegerField(default=VALIDITY_DAYS)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["credits"]

    def __str__(self) -> str:
        return f"{self.name} ({self.credits} credits)"


class GrantQuerySet(models.QuerySet):
    def spendable(self, workspace, now=None) -> GrantQuerySet:
        """Grants of `workspace` with credits left that have not expired, first to expire first."""
        now = now or timezone.now()
        return self.filter(workspace=workspace, expires_at__gt=now, remaining__gt=0).order_by(
            "expires_at", "id"
        )


class Grant(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", models.CASCADE, related_name="grants")
    pack = models.ForeignKey(Pack, models.SET_NULL, null=True, blank=True)
    credits = models.DecimalField(max_digits=12, decimal_places=2)
    remaining = models.DecimalField(max_digits=12, decimal_places=2)
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["expires_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remaining__gte=0), name="grant_remaining_never_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.credits} credits for {self.workspace} until {self.expires_at:%Y-%m-%d}"

    @staticmethod
    def expiry_for(granted_at, validity_days: int = VALIDITY_DAYS):
        return granted_at + timedelta(days=validity_days)


class EntryKind(models.TextChoices):
    GRANT = "grant", "Grant"
    RESERVE = "reserve", "Reserve"
    CAPTURE = "capture", "Capture"
    RELEASE = "release", "Release"
    EXPIRE = "expire", "Expire"
    ADJUST = "adjust", "Adjust"


class LedgerEntry(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", models.PROTECT, related_name="ledger")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    job = models.ForeignKey(
        "generations.Job", models.PROTECT, null=True, blank=True, related_name="ledger"
    )
    grant = models.ForeignKey(Grant, models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=EntryKind.choices)
    delta = models.DecimalField(max_digits=12, decimal_places=2)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    # The staff member whose admin action wrote this row (a grant, a retry's reservation, a
    # cancel's release); empty when a member or the studio itself moved the credits.
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["workspace", "kind", "created_at"]),
            models.Index(fields=["job", "kind"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta:+} ({self.workspace})"

    def save(self, *args, **kwargs):
        # Append-only: a ledger row is written once and never changed.
        if self.pk is not None:
            raise ValueError("Ledger entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are append-only.")


class Reservation(models.Model):
    """The credits a job holds from submit until it ends."""

    job = models.OneToOneField("generations.Job", models.PROTECT, related_name="reservation")
    workspace = models.ForeignKey("accounts.Workspace", models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.amount} held for {self.job_id}"


class Settlement(models.Model):
    """How a reservation ended. One per reservation, enforced by the database: a second
    capture or release of the same job fails on this unique key and changes nothing."""

    reservation = models.OneToOneField(Reservation, models.PROTECT, related_name="settlement")
    captured = models.DecimalField(max_digits=12, decimal_places=2)
    released = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"captured {self.captured}, released {self.released} ({self.reason})"


def new_code() -> str:
    import secrets

    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


class RedemptionCode(models.Model):
    """A single-use code for a pack, generated by staff in batches."""

    code = models.CharField(max_length=24, unique=True, default=new_code)
    pack = models.ForeignKey(Pack, models.PROTECT, related_name="codes")
    batch = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    grant = models.OneToOneField(
        Grant, models.SET_NULL, null=True, blank=True, related_name="redemption"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.code

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


# How strong each role is. A role can do everything the weaker roles can.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Workspace(models.Model):
    """A team: it owns the credits, the gallery and the jobs its members make."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet):
    def for_user(self, user) -> MembershipQuerySet:
        return self.filter(user=user).select_related("workspace").order_by("workspace__name")


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # Optional cap on what this member may reserve in one calendar month (credits).
    monthly_limit = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    def has_role(self, role: str) -> bool:
        """Return True when this membership's role is `role` or stronger."""
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def can_create(self) -> bool:
        return self.has_role(Role.MEMBER)

    def remove(self, now=None) -> None:
        """Take this member out of the workspace and revoke their API keys in it, so a key
        made earlier doesn't come back to life if they are ever added again."""
        with transaction.atomic():
            ApiKey.objects.filter(
                user_id=self.user_id, workspace_id=self.workspace_id, revoked_at__isnull=True
            ).update(revoked_at=now or timezone.now())
            self.delete()


KEY_PREFIX = "sk_"
_PREFIX_LEN = len(KEY_PREFIX) + 8


def _digest(raw: str) -> str:
    # HMAC with the project's secret: a leaked database alone can't be brute-forced offline.
    return hmac.new(settings.SECRET_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    def usable(self, now=None) -> ApiKeyQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def for_token(self, raw: str, now=None) -> ApiKey | None:
        """Return the usable key whose secret is `raw` and whose owner is active, or None."""
        if not raw or not raw.startswith(KEY_PREFIX) or len(raw) < _PREFIX_LEN + 16:
            return None
        digest = _digest(raw)
        keys = self.usable(now).filter(prefix=raw[:_PREFIX_LEN], user__is_active=True)
        for key in keys.select_related("user", "workspace"):
            if hmac.compare_digest(key.hashed, digest):
                return key
        return None


class ApiKey(models.Model):
    """A personal key for the /v1 API: it acts as its owner, in one workspace.

    Stored as a prefix (to find it) and an HMAC of the whole secret; the secret itself is
    shown once, when created, and never again.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_keys")
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    hashed = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The most this key may spend in total (credits); null = no cap beyond the workspace's.
    credit_cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # Canonical model ids this key may use; empty = every model.
    allowed_models = models.JSONField(default=list, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def create(cls, *, user, workspace, name: str, **options) -> tuple[ApiKey, str]:
        """Create a key and return it with its secret, which is not stored anywhere."""
        raw = KEY_PREFIX + secrets.token_urlsafe(30).replace("-", "x").replace("_", "y")
        key = cls.objects.create(
            user=user,
            workspace=workspace,
            name=name,
            prefix=raw[:_PREFIX_LEN],
            hashed=_digest(raw),
            **options,
        )
        return key, raw


def deactivate_user(user, now=None) -> int:
    """Stop `user` at once: they can't sign in, every session of theirs ends and every API
    key of theirs is revoked (and stays revoked if they are let back in). Return how many
    keys were revoked."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    now = now or timezone.now()
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    revoked = ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    # Sessions don't say whose they are except inside their signed data; an inactive user's
    # session already signs nobody in (Django's ModelBackend), and these rows go too.
    theirs = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=now).iterator()
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    Session.objects.filter(pk__in=theirs).delete()
    return revoked

"""How a team organises and shows its gallery: boards, favourites and share links.

The assets themselves (and whether one is private or in the trash) are generations.Asset;
who may see which is `Asset.objects.visible_to(membership)`.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

BOARD_NAME_MAX = 80
# How long a share link works, as a person picks it; None: until it is stopped.
SHARE_EXPIRY = {
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "never": None,
}
DEFAULT_EXPIRY = "week"
# A share token is 32 URL-safe characters (192 random bits); anything shorter is a guess.
TOKEN_LENGTH = 32


def new_share_token() -> str:
    return secrets.token_urlsafe(24)


class BoardQuerySet(models.QuerySet):
    def for_workspace(self, workspace) -> BoardQuerySet:
        return self.filter(workspace=workspace)


class Board(models.Model):
    """A named collection of the workspace's assets, seen by the whole workspace. Deleting a
    board keeps its assets."""

    workspace = models.ForeignKey("accounts.Workspace", models.CASCADE, related_name="boards")
    name = models.CharField(max_length=BOARD_NAME_MAX)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = BoardQuerySet.as_manager()

    class Meta:
        ordering = [Lower("name"), "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "workspace", name="one_board_name_per_workspace")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("board", args=[self.pk])

    @staticmethod
    def add(board_id: int, asset_ids: list[int], user_id: int | None, now: datetime) -> bool:
        """File the assets into the board (those already in it stay as they were). Return
        False when the board is gone: a board deleted meanwhile gets nothing and raises
        nothing, as a job finishing into a board someone just deleted must still complete.

        Call it inside a transaction (Job.complete does) or it opens its own.
        """
        with transaction.atomic():
            # On PostgreSQL the row lock makes a concurrent delete of the board wait until we
            # commit (and then take our rows with it); on SQLite the write lock does the same.
            if not Board.objects.select_for_update().filter(pk=board_id).exists():
                return False
            BoardAsset.objects.bulk_create(
                [
                    BoardAsset(board_id=board_id, asset_id=pk, added_by_id=user_id, added_at=now)
                    for pk in asset_ids
                ],
                ignore_conflicts=True,
            )
        return True


class BoardAsset(models.Model):
    board = models.ForeignKey(Board, models.CASCADE, related_name="items")
    asset = models.ForeignKey("generations.Asset", models.CASCADE, related_name="board_items")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["board", "asset"], name="an_asset_once_per_board")
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} in board {self.board_id}"


class Favourite(models.Model):
    """One person's star on one asset."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="favourites")
    asset = models.ForeignKey("generations.Asset", models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "asset"], name="one_star_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ★ {self.asset_id}"

    @staticmethod
    def toggle(user, asset, now: datetime) -> bool:
        """Star the asset for `user`, or unstar it if starred; return whether it is starred.
        Two clicks racing leave one star or none, never an error."""
        if Favourite.objects.filter(user=user, asset=asset).delete()[0]:
            return False
        Favourite.objects.bulk_create(
            [Favourite(user=user, asset=asset, created_at=now)], ignore_conflicts=True
        )
        return True


class ShareQuerySet(models.QuerySet):
    def live(self, now: datetime) -> ShareQuerySet:
        """Shares that still work: not stopped, not expired. (An asset share also needs its
        asset in the gallery and not private: see `open`.)"""
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def stop(self, now: datetime) -> int:
        """End these shares at once; return how many were live."""
        return self.filter(revoked_at__isnull=True).update(revoked_at=now)

    def open(self, token: str, now: datetime) -> Share | None:
        """The live share behind `token`, or None: stopped, expired, never made, or showing
        an asset that is now in the trash or private."""
        if len(token) < TOKEN_LENGTH:
            return None
        share = self.live(now).select_related("asset", "board").filter(token=token).first()
        if share is None or (share.asset_id and not share.asset.is_shareable):
            return None
        return share


class Share(models.Model):
    """A read-only link to one asset or one board, for anyone holding its unguessable token.

    Pages and media behind it check the share on every request, so stopping it, its expiry,
    or the asset leaving the gallery (trash) or the team's view (private) ends it at once.
    """

    token = models.CharField(max_length=64, unique=True, default=new_share_token)
    workspace = models.ForeignKey("accounts.Workspace", models.CASCADE, related_name="shares")
    asset = models.ForeignKey(
        "generations.Asset", models.CASCADE, null=True, blank=True, related_name="shares"
    )
    board = models.ForeignKey(Board, models.CASCADE, null=True, blank=True, related_name="shares")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(asset__isnull=False, board__isnull=True)
                | models.Q(asset__isnull=True, board__isnull=False),
                name="a_share_shows_an_asset_or_a_board",
            )
        ]

    def __str__(self) -> str:
        return f"share of {'asset ' if self.asset_id else 'board '}{self.asset_id or self.board_id}"

    def get_absolute_url(self) -> str:
        return reverse("shared", args=[self.token])

    @classmethod
    def start(cls, *, user, now: datetime, expiry: str, asset=None, board=None) -> Share:
        """Share `asset` or `board` for `expiry` (a key of SHARE_EXPIRY), or return the live
        share it already has: one link per thing at a time, so "Stop sharing" stops it."""
        target = {"asset": asset} if asset is not None else {"board": board}
        existing = cls.objects.live(now).filter(**target).first()
        if existing is not None:
            return existing
        ttl = SHARE_EXPIRY[expiry]
        return cls.objects.create(
            workspace_id=(asset or board).workspace_id,
            created_by=user,
            created_at=now,
            expires_at=now + ttl if ttl else None,
            **target,
        )

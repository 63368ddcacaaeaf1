"""What happens to an asset in the gallery: made private, moved to the trash, restored,
purged. Each change that hides an asset from the team stops its share links in the same
transaction, so a link never outlives what it showed.

The trash keeps an asset RESTORE_DAYS; then the daily schedule `purge` deletes its files from
storage and its row. The job that made it and its credits stay in the usage report (a Job
outlives its assets: Asset.job and Job.source_asset are SET_NULL on the asset's side).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from studio.gallery.models import Share
from studio.generations.models import Asset
from studio.lib.transactions import outside_transaction

log = logging.getLogger(__name__)

RESTORE_DAYS = 30
RESTORE_WINDOW = timedelta(days=RESTORE_DAYS)
# Assets purged per transaction: a few hundred rows, then the lock is free again.
PURGE_BATCH = 200


def trash(asset_ids: list[int], now: datetime) -> int:
    """Move these assets to the trash and stop their share links; return how many moved."""
    return Asset.objects.filter(pk__in=asset_ids).discard(now)


def restorable_until(asset: Asset) -> datetime | None:
    return asset.deleted_at + RESTORE_WINDOW if asset.deleted_at else None


def restore(asset: Asset, now: datetime) -> bool:
    """Take the asset out of the trash; False when it is not in it or its time ran out (the
    purge may be deleting it right now). Its old share links stay stopped."""
    return bool(
        Asset.objects.filter(pk=asset.pk, deleted_at__gte=now - RESTORE_WINDOW).update(
            deleted_at=None
        )
    )


def set_private(asset: Asset, private: bool, now: datetime) -> None:
    """Make the asset private (stopping its share links) or show it to the team again."""
    with transaction.atomic():
        Asset.objects.filter(pk=asset.pk).update(private=private)
        if private:
            Share.objects.filter(asset=asset).stop(now)
    asset.private = private


def purge(now: datetime | None = None) -> str:
    """The daily schedule: delete what has been in the trash longer than RESTORE_DAYS — its
    files (the original and its thumbnail or poster) first, then its row, so a failure
    leaves a row to try again tomorrow rather than files nobody knows about."""
    cutoff = (now or timezone.now()) - RESTORE_WINDOW
    purged = 0
    while True:
        batch = list(
            Asset.objects.filter(deleted_at__lt=cutoff)
            .order_by("deleted_at", "id")
            .values_list("pk", "file", "thumbnail")[:PURGE_BATCH]
        )
        if not batch:
            break
        outside_transaction("deleting files from media storage")
        done = []
        for pk, *names in batch:
            try:
                for name in names:
                    if name:
                        default_storage.delete(name)
            except OSError:
                log.exception("could not delete the files of asset %s; kept for tomorrow", pk)
            else:
                done.append(pk)
        if not done:
            break
        # Rows only, one short transaction per batch (favourites, board entries and shares go
        # with them; jobs and their credits stay).
        purged += (
            Asset.objects.filter(pk__in=done, deleted_at__lt=cutoff)
            .delete()[1]
            .get("generations.Asset", 0)
        )
        if len(done) < len(batch):
            break
    return f"purged {purged} assets from the trash"

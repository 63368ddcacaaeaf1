"""Hand-built test data: no factory framework, just what each test needs."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from studio.catalog.quote import money, quote
from studio.credits.models import LedgerEntry
from studio.generations.models import Asset, Job, new_asset_uid

# 4 credits per image: gpt-image-2, 1K, medium.
FOUR_CREDITS = {"model": "gpt-image-2", "quality": "medium"}


def make_job(workspace, user, request: dict | None = None, **fields) -> Job:
    q = quote(request or FOUR_CREDITS)
    kind = "animate" if q.kind == "video" else "generate"
    defaults = dict(
        workspace=workspace,
        user=user,
        kind=kind,
        endpoint=q.endpoint,
        model=q.model,
        prompt="a red bicycle",
        params={"size": q.size},
        quote=q.to_dict(),
        credits_quoted=q.credits,
        provider="local",
        deadline_at=timezone.now() + timedelta(minutes=5),
    )
    return Job.objects.create(**{**defaults, **fields})


def ledger_total(workspace):
    """The sum of every ledger delta of `workspace`: what its balance must equal once expired
    remainders are written off."""
    return money(
        LedgerEntry.objects.filter(workspace=workspace).aggregate(t=Sum("delta"))["t"] or 0
    )


def make_asset(workspace, user, **fields) -> Asset:
    """An asset's row with no file behind it: for pages and queries, not for media."""
    uid = fields.pop("uid", None) or new_asset_uid()
    base = f"assets/{workspace.id}/{uid}"
    defaults = dict(
        uid=uid,
        workspace=workspace,
        user=user,
        kind="image",
        made_by="generate",
        file=f"{base}/original.png",
        thumbnail=f"{base}/thumb.jpg",
        content_type="image/png",
        bytes=1000,
        width=1024,
        height=1024,
        prompt="a red bicycle",
        model="gpt-image-2",
    )
    return Asset.objects.create(**{**defaults, **fields})

from __future__ import annotations

from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from studio.front import iterate
from studio.front.progress import estimate
from studio.generations.media import media_ext, signed_path

register = template.Library()


@register.filter
def media_url(asset) -> str:
    """A signed, expiring URL of the asset's file."""
    return signed_path(asset, "file") if asset else ""


@register.filter
def thumb_url(asset) -> str:
    """A signed, expiring URL of the asset's thumbnail (a poster frame for a video)."""
    return signed_path(asset, "thumb") if asset else ""


@register.filter
def credits(value) -> str:
    """12 → "12", 11.2 → "11.20": whole numbers bare, others with two decimals."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"


@register.filter
def seconds(value) -> str:
    if value is None:
        return ""
    return f"{value:.0f} s" if abs(value - round(value)) < 0.05 else f"{value:.1f} s"


@register.filter
def credit_amount(value) -> str:
    """1 → "1 credit", 11.2 → "11.20 credits": the number and the word that agrees with it."""
    if value is None or value == "":
        return ""
    word = "credit" if Decimal(value) == 1 else "credits"
    return f"{credits(value)} {word}"


@register.filter
def use_prompt_url(job) -> str:
    return iterate.use_prompt_url(job)


@register.filter
def can_cancel(job) -> bool:
    return iterate.can_cancel(job)


@register.filter
def progress_estimate(job):
    """The Estimate of an active job, as the card shows it now."""
    return estimate(job, timezone.now())


@register.simple_tag
def shared_url(share, asset, variant: str = "file") -> str:
    """The URL of an asset's file (or "thumb") on a shared page: it works while `share`
    does, checked on every request (front/shares.py)."""
    return reverse(
        "shared_media", args=[share.token, asset.uid, variant, media_ext(asset, variant)]
    )


@register.simple_tag
def viewer_attrs(
    asset, title: str = "", page: str = "", passive: bool = False, src: str = ""
) -> str:
    """The attributes that make a link one of the page's assets in the full-size viewer
    (static/js/viewer.js): clicking it opens the viewer there, unless `passive` (it is then
    only a stop for the viewer's arrow keys, and the link works as a link). `src` is the
    file's URL when it isn't the signed one (a shared page's)."""
    return format_html(
        'data-viewer{} data-src="{}" data-page="{}" data-kind="{}" data-width="{}" '
        'data-height="{}" data-title="{}"',
        " data-viewer-passive" if passive else "",
        src or media_url(asset),
        page or asset.get_absolute_url(),
        asset.kind,
        asset.width,
        asset.height,
        title or asset.prompt[:120],
    )

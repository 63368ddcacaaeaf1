from __future__ import annotations

from decimal import Decimal

from django import template

from studio.generations.media import signed_path

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

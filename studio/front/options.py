"""What the studio's forms offer for each model: sizes, qualities, durations.

Only choices the catalog prices are offered, so a form can't ask for something the model
refuses; the price on the button always comes from `studio.catalog.quote`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from studio.catalog import tables as t
from studio.catalog.quote import quote
from studio.errors import StudioError

RATIO_LABELS = {
    "1:1": "Square 1:1",
    "16:9": "Wide 16:9",
    "9:16": "Tall 9:16",
    "4:3": "Landscape 4:3",
    "3:4": "Portrait 3:4",
    "3:2": "Photo 3:2",
    "2:3": "Portrait 2:3",
}
GEMINI_TIER_LABELS = {
    "512": "Small square · 512 px",
    "2K": "Square 2K · 2048 px",
    "4K": "Square 4K · 4096 px",
}
GPT_2_LARGE = [
    ("2048x2048", "Square 2K · 2048 px"),
    ("2048x1152", "Wide 2K · 2048×1152"),
    ("3840x2160", "Wide 4K · 3840×2160"),
    ("2160x3840", "Tall 4K · 2160×3840"),
]
QUALITY_HELP = {
    "auto": "auto (billed as high)",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "lite": "lite",
    "fast": "fast",
    "standard": "standard",
}
VIDEO_ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
VIDEO_RESOLUTION_SHORT_EDGE = {"720P": 720, "1080P": 1080, "4K": 2160}
_WXH = re.compile(r"^(\d{2,5})x(\d{2,5})$")


@dataclass
class Choice:
    value: str
    label: str


def image_models() -> list[t.Model]:
    return [m for m in t.MODELS.values() if m.kind == t.IMAGE]


def video_models() -> list[t.Model]:
    return [m for m in t.MODELS.values() if m.kind == t.VIDEO]


def image_sizes(model: t.Model) -> list[Choice]:
    """The sizes offered for `model`, all of which its quote accepts."""
    if model.size_rule == "gpt-image-1.5":
        return [
            Choice("auto", "Auto · 1024 px"),
            Choice("1024x1024", "Square · 1024 px"),
            Choice("1536x1024", "Landscape · 1536×1024"),
            Choice("1024x1536", "Portrait · 1024×1536"),
        ]
    choices = [Choice(r, label) for r, label in RATIO_LABELS.items()]
    if model.size_rule == "gpt-image-2":
        return [
            Choice("auto", "Auto · 1024 px"),
            *choices,
            *(Choice(v, label) for v, label in GPT_2_LARGE),
            Choice("custom", "Custom width × height…"),
        ]
    tiers = [tier for tier in ("512", "2K", "4K") if tier in model.tiers]
    if model.id == "gemini-3-pro-image-preview":
        tiers.remove("512")  # bills as standard; the standard presets say it better
    return choices + [Choice(tier, GEMINI_TIER_LABELS[tier]) for tier in tiers]


def parse_size(value: str) -> tuple[int, int] | None:
    """(width, height) of a "WIDTHxHEIGHT" string, else None."""
    match = _WXH.match(value or "")
    return (int(match[1]), int(match[2])) if match else None


def default_image_size(model: t.Model, width: int | None = None, height: int | None = None):
    """The size to preselect: the one closest in shape to (width, height), else the first."""
    sizes = image_sizes(model)
    if not width or not height:
        return "1:1" if any(c.value == "1:1" for c in sizes) else sizes[0].value
    target = width / height
    best, best_gap = sizes[0].value, float("inf")
    for choice in sizes:
        try:
            q = quote({"model": model.id, "size": choice.value})
        except StudioError:
            continue
        if q.tier != "1K":
            continue  # keep the default at the standard price
        gap = abs(q.width / q.height - target)
        if gap < best_gap:
            best, best_gap = choice.value, gap
    return best


def qualities(model: t.Model) -> list[Choice]:
    return [Choice(q, QUALITY_HELP[q]) for q in model.qualities]


def video_size(aspect: str, resolution: str) -> str:
    a, b = VIDEO_ASPECTS[aspect]
    short = VIDEO_RESOLUTION_SHORT_EDGE[resolution]
    width, height = (short * a // b, short) if a >= b else (short, short * b // a)
    return f"{width}x{height}"


def video_resolutions(model: t.Model, quality: str | None) -> list[Choice]:
    """The resolutions `model` offers at `quality` (Veo's 4K needs fast or standard)."""
    key = quality if quality in model.prices else "*"
    offered = model.prices.get(key) or next(iter(model.prices.values()))
    return [Choice(r, r) for r in t.VIDEO_RESOLUTIONS if r in offered]


def aspect_of(width: int, height: int) -> str:
    """The video aspect closest to an image's shape."""
    ratio = width / height
    return min(VIDEO_ASPECTS, key=lambda a: abs(VIDEO_ASPECTS[a][0] / VIDEO_ASPECTS[a][1] - ratio))

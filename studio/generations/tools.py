"""The free, instant image tools: crop, resize, rotate, flip, adjust.

They run here with Pillow (no provider, no credits) and each makes a new asset whose parent
is the original, so nothing is ever edited in place.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from PIL import Image, ImageEnhance, ImageOps

from studio.errors import StudioError
from studio.generations import media
from studio.generations.models import Asset

TOOLS = ("crop", "resize", "rotate", "flip", "adjust")
CROP_ASPECTS = {"free": None, "16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:3": (4, 3)}
MAX_SIDE = 4096
MIN_SIDE = 16


def _int(params: Mapping, name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(float(raw))
    except (TypeError, ValueError):
        raise StudioError(f"{name} must be a whole number of pixels.", param=name) from None


def _factor(params: Mapping, name: str) -> float:
    """A slider from -100 to 100 → an enhancement factor from 0 to 2 (1 = unchanged)."""
    raw = params.get(name) or 0
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise StudioError(f"{name} must be a number from -100 to 100.", param=name) from None
    if not -100 <= value <= 100:
        raise StudioError(f"{name} must be from -100 to 100.", param=name)
    return 1 + value / 100


def centered_box(width: int, height: int, aspect: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest (x, y, w, h) of `aspect` centred in a width × height image."""
    a, b = aspect
    w = width
    h = round(w * b / a)
    if h > height:
        h = height
        w = round(h * a / b)
    # Even sides: the crop is often a video's first frame, and H.264 wants even dimensions.
    w, h = w - w % 2, h - h % 2
    return (width - w) // 2, (height - h) // 2, w, h


def crop(image: Image.Image, params: Mapping) -> Image.Image:
    aspect_name = params.get("aspect") or "free"
    if aspect_name not in CROP_ASPECTS:
        raise StudioError(f"aspect must be one of {', '.join(CROP_ASPECTS)}.", param="aspect")
    aspect = CROP_ASPECTS[aspect_name]
    x, y, w, h = (_int(params, k) for k in ("x", "y", "w", "h"))
    if None in (x, y, w, h):
        if aspect is None:
            raise StudioError("Draw the area to keep, or pick a shape.", param="w")
        x, y, w, h = centered_box(image.width, image.height, aspect)
    elif aspect is not None:
        # Keep the asked-for shape exactly, whatever rounding the browser did.
        a, b = aspect
        h = round(w * b / a)
        w, h = w - w % 2, h - h % 2
    if w < MIN_SIDE or h < MIN_SIDE:
        raise StudioError(f"The crop must be at least {MIN_SIDE} px on each side.", param="w")
    if x < 0 or y < 0 or x + w > image.width or y + h > image.height:
        raise StudioError(
            f"The crop must lie inside the {image.width}×{image.height} image.", param="x"
        )
    return image.crop((x, y, x + w, y + h))


def resize(image: Image.Image, params: Mapping) -> Image.Image:
    w, h = _int(params, "width"), _int(params, "height")
    if w is None and h is None:
        raise StudioError("Give a width, a height, or both.", param="width")
    if w is None:
        w = round(image.width * h / image.height)
    if h is None:
        h = round(image.height * w / image.width)
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise StudioError(f"Sizes go from {MIN_SIDE} to {MAX_SIDE} px per side.", param="width")
    return image.resize((w, h), Image.Resampling.LANCZOS)


def rotate(image: Image.Image, params: Mapping) -> Image.Image:
    angle = _int(params, "angle", 90)
    if angle not in (90, 180, 270):
        raise StudioError("Rotate by 90, 180 or 270 degrees.", param="angle")
    return image.rotate(-angle, expand=True)  # clockwise, as people say it


def flip(image: Image.Image, params: Mapping) -> Image.Image:
    direction = params.get("direction") or "horizontal"
    if direction == "horizontal":
        return ImageOps.mirror(image)
    if direction == "vertical":
        return ImageOps.flip(image)
    raise StudioError("Flip horizontal or vertical.", param="direction")


def adjust(image: Image.Image, params: Mapping) -> Image.Image:
    factors = {name: _factor(params, name) for name in ("brightness", "contrast", "saturation")}
    if all(f == 1 for f in factors.values()):
        raise StudioError(
            "Move a slider first: this would make an identical copy.", param="brightness"
        )
    rgb = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    for name, enhancer in (
        ("brightness", ImageEnhance.Brightness),
        ("contrast", ImageEnhance.Contrast),
        ("saturation", ImageEnhance.Color),
    ):
        if factors[name] != 1:
            rgb = enhancer(rgb).enhance(factors[name])
    return rgb


OPERATIONS = {"crop": crop, "resize": resize, "rotate": rotate, "flip": flip, "adjust": adjust}


def apply(asset: Asset, tool: str, params: Mapping, user) -> Asset:
    """Apply `tool` to the image `asset`; return the new asset (its parent is `asset`).

    Raise StudioError for an unknown tool or bad parameters.
    """
    if tool not in OPERATIONS:
        raise StudioError(f"tool must be one of {', '.join(TOOLS)}.", param="tool")
    if asset.is_video:
        raise StudioError("These tools work on images.", param="tool")
    image, _ = media.probe_image(io.BytesIO(media.open_asset(asset)))
    result = OPERATIONS[tool](ImageOps.exif_transpose(image), params)
    out = io.BytesIO()
    result.save(out, "PNG", optimize=False, compress_level=3)
    stored = media.store_image(out, workspace_id=asset.workspace_id)
    return media.make_asset(
        stored,
        workspace_id=asset.workspace_id,
        user=user,
        parent=asset,
        made_by=tool,
        prompt=asset.prompt,
        model=asset.model,
    )

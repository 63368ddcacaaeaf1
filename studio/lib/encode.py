"""Writing a picture as PNG, JPEG or WebP: the one place that decides how the studio encodes
image files (the local renderer's outputs, and an output converted to the format a caller
asked for with `output_format`)."""

from __future__ import annotations

from typing import IO

from PIL import Image

EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
CONTENT_TYPES = {fmt: f"image/{fmt}" for fmt in EXTENSIONS}
# Without an output_compression: JPEG and WebP at this quality, nearly lossless.
DEFAULT_QUALITY = 90
# Past this, a JPEG only grows (Pillow's own advice).
MAX_JPEG_QUALITY = 95


def save(image: Image.Image, fileobj: IO[bytes], fmt: str, compression: int | None = None) -> None:
    """Write `image` to `fileobj` as `fmt` (png, jpeg or webp). `compression` is OpenAI's
    output_compression: the JPEG or WebP quality in percent (PNG is lossless and ignores it).
    JPEG has no transparency: a transparent picture is laid on white."""
    quality = DEFAULT_QUALITY if compression is None else compression
    if fmt == "png":
        # Level 3 is nearly as small as the default and twice as fast on large pictures.
        image.save(fileobj, "PNG", compress_level=3)
    elif fmt == "jpeg":
        if image.mode != "RGB":
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, (255, 255, 255))
            image.paste(rgba, mask=rgba.getchannel("A"))
        image.save(fileobj, "JPEG", quality=max(1, min(MAX_JPEG_QUALITY, quality)), optimize=True)
    elif fmt == "webp":
        image.save(fileobj, "WEBP", quality=quality, method=4)
    else:
        raise ValueError(f"not an output format: {fmt!r}")

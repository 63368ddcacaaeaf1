"""Media in our own storage: saving outputs, probing them, thumbnails, signed URLs.

Provider URLs expire and are never shown to users (DESIGN invariant 3), so every output is
copied here before its job is marked completed. The URLs we hand out are signed and expire
(`signed_path`); `views.serve_media` checks them and answers HTTP Range requests.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.generations.models import Asset, AssetKind, new_asset_uid

THUMB_EDGE = 640
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "video/mp4": "mp4"}
# A Pillow safety valve: a "4K" request is 4096² (16.7 MP); refuse decompression bombs.
Image.MAX_IMAGE_PIXELS = 4096 * 4096 * 2


class MediaError(Exception):
    """A file that is not the image or video it claims to be."""


@dataclass
class StoredMedia:
    """A file saved in our storage, not yet attached to an Asset."""

    uid: str
    kind: str
    name: str
    thumbnail: str
    content_type: str
    bytes: int
    width: int
    height: int
    duration: float | None = None

    def delete(self) -> None:
        for name in (self.name, self.thumbnail):
            if name:
                default_storage.delete(name)


def _save(name: str, fileobj) -> str:
    fileobj.seek(0)
    return default_storage.save(name, File(fileobj, name=os.path.basename(name)))


def _thumbnail(image: Image.Image) -> io.BytesIO:
    thumb = ImageOps.exif_transpose(image).convert("RGB")
    thumb.thumbnail((THUMB_EDGE, THUMB_EDGE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    return out


def probe_image(fileobj) -> tuple[Image.Image, str]:
    """Return (decoded image, content type) or raise MediaError."""
    try:
        fileobj.seek(0)
        image = Image.open(fileobj)
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as e:
        raise MediaError(f"not a readable image ({type(e).__name__})") from None
    content_type = IMAGE_TYPES.get(image.format or "")
    if content_type is None:
        raise MediaError(f"images must be PNG, JPEG or WebP, not {image.format or 'unknown'}")
    return image, content_type


@dataclass
class VideoInfo:
    width: int
    height: int
    duration: float
    fps: float
    codec: str


def probe_video(path: str) -> VideoInfo:
    """Return what ffmpeg reads from the MP4 at `path`, or raise MediaError."""
    import imageio_ffmpeg

    try:
        reader = imageio_ffmpeg.read_frames(path)
        meta = next(reader)
        reader.close()
    except (RuntimeError, OSError, StopIteration) as e:
        raise MediaError(f"not a readable video ({type(e).__name__})") from None
    width, height = meta["size"]
    return VideoInfo(
        width,
        height,
        float(meta.get("duration") or 0),
        float(meta.get("fps") or 0),
        meta.get("codec", ""),
    )


def poster_frame(path: str, at: float = 0.0) -> Image.Image:
    """Return one frame of the video at `path` (for its poster)."""
    import imageio_ffmpeg

    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-v",
        "error",
        "-ss",
        f"{at:.2f}",
        "-i",
        path,
        "-frames:v",
        "1",
        "-f",
        "image2pipe",
        "-vcodec",
        "png",
        "-",
    ]
    result = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    if result.returncode or not result.stdout:
        raise MediaError("could not read a frame of the video")
    return Image.open(io.BytesIO(result.stdout))


def store_image(fileobj, *, uid: str | None = None, workspace_id: int) -> StoredMedia:
    """Check that `fileobj` is an image, then save it and a thumbnail into our storage."""
    image, content_type = probe_image(fileobj)
    uid = uid or new_asset_uid()
    base = f"assets/{workspace_id}/{uid}"
    name = _save(f"{base}/original.{EXTENSIONS[content_type]}", fileobj)
    thumb = _save(f"{base}/thumb.jpg", _thumbnail(image))
    size = default_storage.size(name)
    return StoredMedia(
        uid, AssetKind.IMAGE, name, thumb, content_type, size, image.width, image.height
    )


def store_video(path: str, *, uid: str | None = None, workspace_id: int) -> StoredMedia:
    """Check that `path` is a playable video, then save it and a poster into our storage."""
    info = probe_video(path)
    uid = uid or new_asset_uid()
    base = f"assets/{workspace_id}/{uid}"
    with open(path, "rb") as f:
        name = _save(f"{base}/video.mp4", f)
    poster = _save(
        f"{base}/poster.jpg", _thumbnail(poster_frame(path, min(0.5, info.duration / 3)))
    )
    return StoredMedia(
        uid,
        AssetKind.VIDEO,
        name,
        poster,
        "video/mp4",
        os.path.getsize(path),
        info.width,
        info.height,
        duration=round(info.duration, 3),
    )


def make_asset(stored: StoredMedia, **fields) -> Asset:
    """Create the Asset row for a stored file."""
    return Asset.objects.create(
        uid=stored.uid,
        kind=stored.kind,
        file=stored.name,
        thumbnail=stored.thumbnail,
        content_type=stored.content_type,
        bytes=stored.bytes,
        width=stored.width,
        height=stored.height,
        duration=stored.duration,
        **fields,
    )


def open_asset(asset: Asset) -> bytes:
    with default_storage.open(asset.file.name, "rb") as f:
        return f.read()


# ---- signed URLs ---------------------------------------------------------------------------

VARIANTS = ("file", "thumb")


def _signature(uid: str, variant: str, expires: int) -> str:
    message = f"media:{uid}:{variant}:{expires}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def signed_path(
    asset: Asset, variant: str = "file", ttl: int | None = None, now: float | None = None
) -> str:
    """Return a path like /media/<uid>/file?e=…&s=… valid for at least `ttl` seconds.

    The expiry is rounded up to the hour, so a page reloaded within the hour asks for the same
    URL and the browser's cache answers.
    """
    ttl = ttl or settings.MEDIA_URL_TTL
    expires = int(math.ceil(((now or time.time()) + ttl) / 3600) * 3600)
    ext = "jpg" if variant == "thumb" else EXTENSIONS.get(asset.content_type, "bin")
    query = urlencode({"e": expires, "s": _signature(asset.uid, variant, expires)})
    return f"/media/{asset.uid}/{variant}.{ext}?{query}"


def check_signature(
    uid: str, variant: str, expires: str, signature: str, now: float | None = None
) -> bool:
    """Return True when the signature matches and has not expired."""
    try:
        expires_at = int(expires)
    except (TypeError, ValueError):
        return False
    if expires_at < (now or time.time()) or variant not in VARIANTS:
        return False
    return hmac.compare_digest(_signature(uid, variant, expires_at), signature or "")


def public_url(asset: Asset, variant: str = "file") -> str | None:
    """Return an absolute signed URL the upstream platform can fetch, or None when
    STUDIO_PUBLIC_URL is not set."""
    if not settings.STUDIO_PUBLIC_URL:
        return None
    return settings.STUDIO_PUBLIC_URL + signed_path(asset, variant)


def temp_dir() -> Path:
    path = Path(settings.DATA_DIR) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path

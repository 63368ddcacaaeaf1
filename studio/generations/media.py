"""Media in our own storage: saving outputs, probing them, thumbnails, signed URLs.

Provider URLs expire and are never shown to users (DESIGN invariant 3), so every output is
copied here before its job is marked completed, and checked: an image must decode, a video
must probe (codec, size, and a duration we measure). What is stored is what is charged. The
URLs we hand out are signed and expire (`signed_path`); `views.serve_media` checks them and
answers HTTP Range requests.

Everything here is slow I/O and refuses to run inside a transaction (lib/transactions.py).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.catalog.quote import NO_OPTIONS, ImageOptions
from studio.generations.models import Asset, AssetKind, new_asset_uid
from studio.lib import encode, signing
from studio.lib.download import sniff
from studio.lib.transactions import outside_transaction

THUMB_EDGE = 640
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
VIDEO_TYPES = ("video/mp4", "video/webm")
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/webm": "webm",
}
# The largest image we decode: twice a "4K" output (4096², 16.7 MP). Larger ones are refused
# from their header, before a byte is decoded (a decompression bomb, or just an 8000² upload
# that would take a core and 200 MB for nothing).
MAX_PIXELS = 4096 * 4096 * 2
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class MediaError(Exception):
    """A file that is not the image or video it claims to be. `code` and `params` say why,
    as a job stores it (generations/failures.py); the message is for the API and logs."""

    def __init__(self, message: str, *, code: str = "bad_output", params: dict | None = None):
        super().__init__(message)
        self.code, self.params = code, params or {}


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
    outside_transaction("writing to media storage")
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
    outside_transaction("decoding an image")
    try:
        fileobj.seek(0)
        image = Image.open(fileobj)
        if image.width * image.height > MAX_PIXELS:
            raise MediaError(
                f"images can have at most {MAX_PIXELS:,} pixels, and this one has "
                f"{image.width}×{image.height}",
                params={"expected": "image"},
            )
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as e:
        raise MediaError(
            f"not a readable image ({type(e).__name__})", params={"expected": "image"}
        ) from None
    content_type = IMAGE_TYPES.get(image.format or "")
    if content_type is None:
        raise MediaError(
            f"images must be PNG, JPEG or WebP, not {image.format or 'unknown'}",
            code="unsupported_media_type",
            params={"expected": "image", "got": (image.format or "unknown").lower()},
        )
    return image, content_type


@dataclass
class VideoInfo:
    codec: str
    pix_fmt: str
    width: int
    height: int
    duration: float  # seconds, measured: frames / frame rate, never the container's claim
    frames: int
    fps: float


_STREAM = re.compile(
    r"Video: (?P<codec>\w+)[^,]*, (?P<pix_fmt>\w+)[^,]*(?:\([^)]*\))?, (?P<w>\d+)x(?P<h>\d+)"
)
_RATE = re.compile(r"([\d.]+) (?:fps|tbr)")
_FRAMES = re.compile(r"frame=\s*(\d+)")


def probe_video(path: str | Path) -> VideoInfo:
    """Return what the video at `path` really holds: codec, pixel format, size, frame count
    and the duration those frames last. Raise MediaError when it holds no video stream.

    imageio-ffmpeg ships ffmpeg but not ffprobe, so this copies the first video stream to
    nowhere (no decoding, fast) and reads ffmpeg's report: the stream line and the frames
    it counted. The container's own duration is a claim; the frames are what was delivered.
    """
    import imageio_ffmpeg

    outside_transaction("probing a video")
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]
    command += ["-map", "0:v:0", "-c", "copy", "-f", "null", "-"]
    try:
        report = subprocess.run(command, capture_output=True, timeout=60, check=False).stderr
    except (OSError, subprocess.TimeoutExpired) as e:
        raise MediaError(
            f"not a readable video ({type(e).__name__})", params={"expected": "video"}
        ) from None
    report = report.decode(errors="replace")
    stream, frames = _STREAM.search(report), _FRAMES.findall(report)
    rate = _RATE.search(report[stream.end() :]) if stream else None
    if not stream or not frames or not rate or float(rate[1]) <= 0 or int(frames[-1]) == 0:
        raise MediaError("not a readable video", params={"expected": "video"})
    count, fps = int(frames[-1]), float(rate[1])
    return VideoInfo(
        codec=stream["codec"],
        pix_fmt=stream["pix_fmt"],
        width=int(stream["w"]),
        height=int(stream["h"]),
        duration=count / fps,
        frames=count,
        fps=fps,
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
    outside_transaction("reading a video frame")
    result = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    if result.returncode or not result.stdout:
        raise MediaError("could not read a frame of the video", params={"expected": "video"})
    return Image.open(io.BytesIO(result.stdout))


def store_image(
    fileobj, *, uid: str | None = None, workspace_id: int, options: ImageOptions = NO_OPTIONS
) -> StoredMedia:
    """Check that `fileobj` is an image, then save it and a thumbnail into our storage: in the
    `options.output_format` asked for, converted when it is another."""
    image, content_type = probe_image(fileobj)
    wanted = options.output_format
    if wanted and content_type != encode.CONTENT_TYPES[wanted]:
        fileobj = io.BytesIO()
        encode.save(image, fileobj, wanted, options.output_compression)
        content_type = encode.CONTENT_TYPES[wanted]
    uid = uid or new_asset_uid()
    base = f"assets/{workspace_id}/{uid}"
    name = _save(f"{base}/original.{EXTENSIONS[content_type]}", fileobj)
    thumb = _save(f"{base}/thumb.jpg", _thumbnail(image))
    size = default_storage.size(name)
    return StoredMedia(
        uid, AssetKind.IMAGE, name, thumb, content_type, size, image.width, image.height
    )


def store_video(
    path: str, *, uid: str | None = None, workspace_id: int, content_type: str = "video/mp4"
) -> StoredMedia:
    """Check that `path` is a playable video, then save it and a poster into our storage.
    Its duration is the one measured (probe_video), whatever the file or anyone claims."""
    info = probe_video(path)
    poster = _thumbnail(poster_frame(path, min(0.5, info.duration / 3)))
    uid = uid or new_asset_uid()
    base = f"assets/{workspace_id}/{uid}"
    with open(path, "rb") as f:
        name = _save(f"{base}/video.{EXTENSIONS[content_type]}", f)
    return StoredMedia(
        uid,
        AssetKind.VIDEO,
        name,
        _save(f"{base}/poster.jpg", poster),
        content_type,
        os.path.getsize(path),
        info.width,
        info.height,
        duration=round(info.duration, 3),
    )


def store_output(
    path: str, *, expected: str, workspace_id: int, options: ImageOptions = NO_OPTIONS
) -> StoredMedia:
    """Store the file at `path` that a job asked a model for, after checking that it is the
    `expected` kind ("image" or "video") by its own bytes, not by what anyone declared; an
    image in the output format `options` asks for.

    Raise MediaError: `unsupported_media_type` for the other kind (a video where an image
    was asked for, an image "of 5 s" where a video was), `bad_output` when it doesn't decode.
    """
    with open(path, "rb") as f:
        got = sniff(f.read(64))
        if got is not None and not got.startswith(f"{expected}/"):
            raise MediaError(
                f"the model returned {got} where {expected} was asked for",
                code="unsupported_media_type",
                params={"expected": expected, "got": got},
            )
        if expected == AssetKind.IMAGE:
            return store_image(f, workspace_id=workspace_id, options=options)
    content_type = got if got in VIDEO_TYPES else "video/mp4"
    return store_video(path, workspace_id=workspace_id, content_type=content_type)


def make_asset(stored: StoredMedia, **fields) -> Asset:
    """Create the Asset row for a stored file."""
    return Asset.objects.create_from(stored, **fields)


def open_asset(asset: Asset) -> bytes:
    with default_storage.open(asset.file.name, "rb") as f:
        return f.read()


# ---- signed URLs ---------------------------------------------------------------------------


def signed_path(
    asset: Asset,
    variant: str = "file",
    ttl: int | None = None,
    now: float | None = None,
    scope: str = "",
) -> str:
    """Return a path like /media/<uid>/file.png?e=…&s=… valid for at least `ttl` seconds
    (MEDIA_URL_TTL by default); `views.serve_media` checks it (studio/lib/signing.py)."""
    ttl = ttl or settings.MEDIA_URL_TTL
    expires, signature = signing.sign(asset.uid, variant, ttl, now, scope)
    ext = media_ext(asset, variant)
    query = {"e": expires, "s": signature, **({"to": scope} if scope else {})}
    return f"/media/{asset.uid}/{variant}.{ext}?{urlencode(query)}"


def media_ext(asset: Asset, variant: str = "file") -> str:
    """The extension of an asset's file (or "jpg" for its thumbnail) in its URLs."""
    return "jpg" if variant == "thumb" else EXTENSIONS.get(asset.content_type, "bin")


def public_url(asset: Asset, variant: str = "file") -> str | None:
    """Return an absolute signed URL the upstream platform can fetch (even while the asset
    is private), or None when STUDIO_PUBLIC_URL is not set."""
    if not settings.STUDIO_PUBLIC_URL:
        return None
    return settings.STUDIO_PUBLIC_URL + signed_path(asset, variant, scope=signing.PROVIDER)


def temp_dir() -> Path:
    path = Path(settings.DATA_DIR) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path

"""Many assets as one ZIP, streamed while it is written.

Nothing is built first, in memory or on disk: zipfile writes into a small pipe that the
response drains after every chunk, so the first bytes leave at once and memory stays at a
chunk or two whatever the size. Entries are stored, not deflated (PNG, JPEG, WebP and MP4 are
compressed already), with ZIP64 where a file needs it. Files are read through
default_storage, so the same code streams from the local disk or an S3 bucket.

The caller fetches the asset rows first; the stream itself never touches the database (no
transaction is open while it reads files: lib/transactions.py).
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterable, Iterator

from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.text import slugify

from studio.generations.media import EXTENSIONS
from studio.lib.transactions import outside_transaction

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
# Words of the prompt in a file's name, at most this many characters.
NAME_WORDS = 40


class _Pipe:
    """A write-only file: zipfile writes into it, the generator takes what was written.
    It can tell() but not seek(), so zipfile writes each entry's sizes after its data."""

    def __init__(self):
        self._chunks: list[bytes] = []
        self._size = 0
        self._offset = 0

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._size += len(data)
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        pass

    @property
    def pending(self) -> int:
        return self._size

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        return data


def entry_name(asset) -> str:
    """A readable, unique name: `2026-11-21-red-bicycle-<uid>.png` (the day it was made in
    the studio's time zone, the start of its prompt, its uid)."""
    words = slugify(asset.prompt, allow_unicode=True)
    if len(words) > NAME_WORDS:  # cut at the end of a word
        cut = words[: NAME_WORDS + 1]
        words = cut.rsplit("-", 1)[0] if "-" in cut else cut[:NAME_WORDS]
    day = timezone.localtime(asset.created_at).date().isoformat()
    ext = EXTENSIONS.get(asset.content_type, "bin")
    return "-".join(part for part in (day, words, asset.uid) if part) + f".{ext}"


def stream(assets: Iterable) -> Iterator[bytes]:
    """Yield a ZIP of the assets' files, chunk by chunk. A file missing from storage is left
    out (and logged); the others are all there."""
    outside_transaction("streaming a ZIP of media files")
    pipe = _Pipe()
    archive = zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
    for asset in assets:
        try:
            source = default_storage.open(asset.file.name, "rb")
        except OSError:
            log.warning("asset %s: %s is missing from storage", asset.uid, asset.file.name)
            continue
        made = timezone.localtime(asset.created_at)
        info = zipfile.ZipInfo(entry_name(asset), made.timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED
        info.file_size = asset.bytes  # decides ZIP64 up front; the real size is written after
        with source, archive.open(info, "w", force_zip64=asset.bytes > zipfile.ZIP64_LIMIT) as f:
            while data := source.read(CHUNK):
                f.write(data)
                if pipe.pending >= CHUNK:
                    yield pipe.take()
        if pipe.pending:
            yield pipe.take()
    archive.close()
    yield pipe.take()

"""Bulk download: a ZIP of images and videos, streamed while it is written, with readable
names, read from the media storage; it holds 500 assets as easily as three."""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from studio.gallery import zips
from studio.generations import media
from studio.generations.models import Asset
from studio.lib.transactions import TransactionOpen
from studio.providers.local.video import render_video
from tests.factories import make_asset
from tests.test_api import png


@pytest.fixture
def three(alpha, alice):
    """Two images and a video, each with its real file."""
    made = timezone.make_aware(datetime(2026, 11, 21, 10, 30))
    images = [
        media.make_asset(
            media.store_image(png(320, 240, color), workspace_id=alpha.id),
            workspace=alpha,
            user=alice,
            made_by="generate",
            created_at=made,
            prompt=prompt,
        )
        for color, prompt in (((200, 0, 0), "A red bicycle, leaning on a wall!"), ((0, 0, 200), ""))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        render_video(prompt="waves", width=320, height=180, duration=1, out_path=clip)
        video = media.make_asset(
            media.store_video(str(clip), workspace_id=alpha.id),
            workspace=alpha,
            user=alice,
            made_by="animate",
            created_at=made,
            prompt="Waves rolling onto a beach at golden hour, slow aerial drift over the sand",
        )
    return [*images, video]


def test_the_zip_holds_every_file_under_a_readable_name(client, alice, three):
    client.force_login(alice)
    r = client.post("/gallery/bulk/", {"action": "zip", "uid": [a.uid for a in three]})
    assert r.status_code == 200 and r.streaming
    assert r["Content-Type"] == "application/zip"
    assert r["Content-Disposition"].startswith('attachment; filename="pixapi-studio-')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    assert archive.testzip() is None
    bike, untitled, video = three
    assert sorted(archive.namelist()) == sorted(
        [
            f"2026-11-21-a-red-bicycle-leaning-on-a-wall-{bike.uid}.png",
            f"2026-11-21-{untitled.uid}.png",
            f"2026-11-21-waves-rolling-onto-a-beach-at-golden-{video.uid}.mp4",
        ]
    )
    for asset in three:
        (name,) = [n for n in archive.namelist() if asset.uid in n]
        assert archive.read(name) == media.open_asset(asset)
        info = archive.getinfo(name)
        assert info.compress_type == zipfile.ZIP_STORED  # already compressed media
        assert info.date_time == (2026, 11, 21, 10, 30, 0)


def test_it_is_streamed_while_it_is_written(alpha, alice):
    """The first bytes leave before the rest is read, and no chunk holds much more than one
    read from storage, however large the files."""
    big = [
        make_asset(
            alpha,
            alice,
            file=default_storage.save(f"big/{i}.png", ContentFile(bytes([i]) * 3_000_000)),
            bytes=3_000_000,
        )
        for i in range(3)
    ]
    chunks = zips.stream(big)
    first = next(chunks)
    assert first.startswith(b"PK\x03\x04")
    sizes = [len(first)] + [len(c) for c in chunks]
    assert sum(sizes) > 9_000_000 and len(sizes) > 30
    assert max(sizes) <= 2 * zips.CHUNK


def test_a_file_missing_from_storage_is_left_out(alpha, alice, three):
    gone = make_asset(alpha, alice, file="assets/nowhere.png")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(zips.stream([gone, *three]))))
    assert len(archive.namelist()) == 3 and gone.uid not in "".join(archive.namelist())


def test_it_works_for_500_assets(client, alice, alpha):
    """500 rows over a few real files (as a team's gallery shares nothing, each is its own
    entry)."""
    files = [media.store_image(png(64 + i, 48), workspace_id=alpha.id) for i in range(5)]
    rows = []
    for i in range(500):
        stored = files[i % 5]
        rows.append(
            Asset(
                uid=f"bulk{i:04d}",
                workspace=alpha,
                user=alice,
                kind="image",
                made_by="generate",
                file=stored.name,
                thumbnail=stored.thumbnail,
                content_type="image/png",
                bytes=stored.bytes,
                width=stored.width,
                height=stored.height,
                prompt=f"picture {i}",
            )
        )
    Asset.objects.bulk_create(rows)
    client.force_login(alice)
    r = client.post("/gallery/bulk/", {"action": "zip", "uid": [a.uid for a in rows]})
    archive = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    assert len(archive.namelist()) == 500 and archive.testzip() is None


def test_streaming_refuses_to_run_inside_a_transaction(alpha, alice, three):
    with pytest.raises(TransactionOpen), transaction.atomic():
        next(zips.stream(three))

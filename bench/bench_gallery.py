"""The gallery at 10,000 assets: the grid's server time, a filtered grid's, and a 200-asset
ZIP's time to first byte and throughput.

    .venv/bin/python bench/bench_gallery.py

Two workspaces in one throwaway studio: "Small" with 100 assets and 5 boards (the same-run
baseline) and "Large" with 10,000 assets and 50 boards, a tenth of them private, every
seventh a video, every fifth in a board, every third starred. Their files are real outputs
of the local renderer (1344×768 PNGs and a 720p MP4), shared between rows. Requests go
through Django's test client in this process: server time, no network.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _scratch import percentile, setup

DATA = setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from studio.accounts.models import Membership, Workspace  # noqa: E402
from studio.credits import ledger  # noqa: E402
from studio.gallery.filters import cursor_of, starting_after  # noqa: E402
from studio.gallery.models import Board, BoardAsset, Favourite  # noqa: E402
from studio.generations import media, runner  # noqa: E402
from studio.generations.models import Asset, new_asset_uid  # noqa: E402
from studio.providers.local.video import render_video  # noqa: E402

MODELS = ["gpt-image-2", "gemini-2.5-flash-image", "veo"]
WORDS = ["red", "bicycle", "lighthouse", "night", "ramen", "fox", "city", "rain", "dawn"]


def real_files(workspace, user) -> tuple[list, object]:
    """Ten images through the real pipeline and one video: the files every row points to."""
    ledger.grant(workspace, 1000)
    images = []
    for i in range(10):
        job = runner.submit(
            workspace=workspace,
            user=user,
            kind="generate",
            enqueue_job=False,
            request={"model": "gemini-2.5-flash-image", "size": "16:9"},
            prompt=f"bench {i}",
        )
        runner.run_job(job.pk)
        images.append(job.assets.get())
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        render_video(prompt="waves", width=1280, height=720, duration=2, out_path=clip)
        video = media.store_video(str(clip), workspace_id=workspace.id)
    return images, video


def seed(name: str, assets: int, boards: int, files) -> tuple[Workspace, object]:
    images, video = files
    workspace = Workspace.objects.create(name=name)
    users = []
    for role in ("owner", "member", "member"):
        user = get_user_model().objects.create_user(f"{name.lower()}-{len(users)}")
        Membership.objects.create(user=user, workspace=workspace, role=role)
        users.append(user)
    now = timezone.now()
    rows = []
    for i in range(assets):
        is_video = i % 7 == 0
        source = video if is_video else images[i % len(images)]
        rows.append(
            Asset(
                uid=new_asset_uid(),
                workspace=workspace,
                user=users[i % 3],
                kind="video" if is_video else "image",
                made_by="generate",
                file=source.name if is_video else source.file.name,
                thumbnail=source.thumbnail if is_video else source.thumbnail.name,
                content_type=source.content_type,
                bytes=source.bytes,
                width=source.width,
                height=source.height,
                duration=getattr(source, "duration", None),
                prompt=" ".join(WORDS[(i + k) % len(WORDS)] for k in range(4)) + f" {i}",
                model=MODELS[i % 3],
                private=i % 10 == 3,
                created_at=now - timedelta(seconds=i),
            )
        )
    Asset.objects.bulk_create(rows, batch_size=2000)
    made = Board.objects.bulk_create(
        Board(workspace=workspace, name=f"board {i}") for i in range(boards)
    )
    ids = list(Asset.objects.filter(workspace=workspace).values_list("pk", flat=True))
    BoardAsset.objects.bulk_create(
        (BoardAsset(board=made[n % boards], asset_id=pk) for n, pk in enumerate(ids[::5])),
        batch_size=2000,
    )
    Favourite.objects.bulk_create(
        (Favourite(user=users[1], asset_id=pk) for pk in ids[::3]), batch_size=2000
    )
    return workspace, users[1]


def timings(client, url: str, count: int, **headers) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        r = client.get(url, **headers)
        out.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, url
    return out


def best_ms(fn, count: int = 20) -> float:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return min(out) * 1000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def row(name: str, small: list[float], large: list[float]) -> str:
    return (
        f"| {name} | {statistics.median(small):.1f} | {statistics.median(large):.1f} | "
        f"{percentile(large, 95):.1f} |"
    )


def zip_run(client, uids: list[str]) -> tuple[float, float, int, float]:
    """Time to first byte (ms), total seconds, bytes, and how far the process's resident
    memory rose above where it started while streaming (MB)."""
    before = peak = rss_mb()
    start = time.perf_counter()
    r = client.post("/gallery/bulk/", {"action": "zip", "uid": uids})
    chunks = iter(r.streaming_content)
    first = next(chunks)
    ttfb = (time.perf_counter() - start) * 1000
    size = len(first)
    for n, chunk in enumerate(chunks):
        size += len(chunk)
        if n % 16 == 0:
            peak = max(peak, rss_mb())
    return ttfb, time.perf_counter() - start, size, peak - before


if __name__ == "__main__":
    demo = Workspace.objects.get(name="Demo studio")
    files = real_files(demo, demo.memberships.get(role="owner").user)
    started = time.perf_counter()
    small, small_user = seed("Small", 100, 5, files)
    large, large_user = seed("Large", 10_000, 50, files)
    print(f"seeded 10,100 assets and 55 boards in {time.perf_counter() - started:.1f} s\n")

    clients = {}
    for key, user in (("small", small_user), ("large", large_user)):
        clients[key] = Client()
        clients[key].force_login(user)
    workspaces = {"small": small, "large": large}
    boards = {
        k: Board.objects.filter(workspace=ws).order_by("id")[0].pk for k, ws in workspaces.items()
    }
    # Where the next page starts: half way down each gallery.
    middle = {
        k: cursor_of(Asset.objects.filter(workspace=ws).order_by("-created_at", "-id")[len_ // 2])
        for (k, ws), len_ in zip(workspaces.items(), (100, 10_000), strict=True)
    }
    views = {
        "grid, first page": (lambda k: "/gallery/", {}),
        "filtered: q, kind, model, fav": (
            lambda k: "/gallery/?q=red+bicycle&kind=image&model=gpt-image-2&fav=1",
            {},
        ),
        "a board's page": (lambda k: f"/boards/{boards[k]}/", {}),
        "next page, half way down (htmx)": (
            lambda k: f"/gallery/?after={middle[k]}",
            {"HTTP_HX_REQUEST": "true"},
        ),
    }
    print("| view (server time, ms) | 100 assets p50 | 10,000 assets p50 | 10,000 p95 |")
    print("|---|---:|---:|---:|")
    for name, (url, headers) in views.items():
        for key, client in clients.items():
            timings(client, url(key), 3, **headers)  # warm up
        # Taken in turns, so a busy moment of the machine falls on both alike.
        measured = {k: [] for k in clients}
        for _ in range(40):
            for k, c in clients.items():
                measured[k] += timings(c, url(k), 1, **headers)
        print(row(name, measured["small"], measured["large"]))

    # The page after 9,600 assets the keyset way, and the OFFSET way the old pager used.
    ordered = Asset.objects.filter(workspace=large).order_by("-created_at", "-id")
    last = ordered[9599]
    keyset = best_ms(lambda: list(starting_after(ordered, (last.created_at, last.pk))[:25]))
    offset = best_ms(lambda: list(ordered[9600:9625]))
    print(f"\npage 401, after 9,600 assets (query only): keyset {keyset:.2f} ms, ", end="")
    print(f"OFFSET {offset:.2f} ms")

    uids = list(
        Asset.objects.filter(workspace=large, private=False).values_list("uid", flat=True)[:200]
    )
    zip_run(clients["large"], uids[:5])  # warm up
    runs = [zip_run(clients["large"], uids) for _ in range(3)]
    ttfb, total, size, grew = sorted(runs, key=lambda r: r[1])[1]  # the median run
    videos = Asset.objects.filter(uid__in=uids, kind="video").count()
    print(f"\nZIP of 200 assets ({200 - videos} images, {videos} videos, {size / 1e6:.0f} MB):")
    print("| time to first byte | total | throughput | process grew by |")
    print("|---:|---:|---:|---:|")
    print(f"| {ttfb:.0f} ms | {total:.2f} s | {size / 1e6 / total:.0f} MB/s | {grew:.0f} MB |")
    connection.close()
    shutil.rmtree(DATA, ignore_errors=True)

"""With 10,000 assets and 50 boards the gallery asks the database the same few questions as
with 100 assets and 5 boards: no query per asset, per board or per page, and no OFFSET."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from studio.gallery.models import Board, BoardAsset, Favourite
from studio.generations.models import Asset, new_asset_uid

MODELS = ["gpt-image-2", "gemini-2.5-flash-image", "veo"]


def seed(workspace, users, assets: int, boards: int, start: int = 0) -> None:
    """Add `assets` assets (a tenth of them private, every seventh a video) and `boards`
    boards holding every fifth asset, with stars — fast, with bulk_create."""
    now = timezone.now()
    rows = [
        Asset(
            uid=new_asset_uid(),
            workspace=workspace,
            user=users[i % len(users)],
            kind="video" if i % 7 == 0 else "image",
            made_by="generate",
            file=f"assets/{i}.png",
            thumbnail=f"assets/{i}.jpg",
            content_type="video/mp4" if i % 7 == 0 else "image/png",
            width=1024,
            height=1024,
            prompt=f"a red bicycle number {i}",
            model=MODELS[i % 3],
            private=i % 10 == 3,
            created_at=now - timedelta(seconds=i),
        )
        for i in range(start, start + assets)
    ]
    Asset.objects.bulk_create(rows, batch_size=2000)
    Board.objects.bulk_create(
        Board(workspace=workspace, name=f"board {i}") for i in range(start, start + boards)
    )
    made = list(Board.objects.filter(workspace=workspace))
    ids = list(Asset.objects.filter(workspace=workspace).values_list("pk", flat=True))
    BoardAsset.objects.bulk_create(
        (BoardAsset(board=made[n % len(made)], asset_id=pk) for n, pk in enumerate(ids[::5])),
        ignore_conflicts=True,
        batch_size=2000,
    )
    Favourite.objects.bulk_create(
        (Favourite(user=users[0], asset_id=pk) for pk in ids[::3]),
        ignore_conflicts=True,
        batch_size=2000,
    )


def queries(client, url: str, **headers) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        r = client.get(url, **headers)
    assert r.status_code == 200, url
    return [q["sql"] for q in captured.captured_queries]


def next_page(client, url: str) -> str:
    page = client.get(url).content.decode()
    return html.unescape(re.search(r'class="btn more-link" href="([^"]+)"', page)[1])


@pytest.mark.servers
def test_the_grid_asks_no_more_questions_of_10000_assets_than_of_100(client, alice, bob, alpha):
    seed(alpha, [alice, bob], assets=100, boards=5)
    client.force_login(bob)
    board = Board.objects.filter(workspace=alpha).first()

    def views() -> dict[str, list[str]]:
        urls = {
            "grid": "/gallery/",
            "filtered": f"/gallery/?q=red+bicycle&kind=image&model=gpt-image-2&member=alice"
            f"&fav=1&from=2000-01-01&sort=old&board={board.pk}",
            "board": f"/boards/{board.pk}/",
            "mine": "/gallery/?tab=mine",
            "boards": "/boards/",
            "trash": "/gallery/trash/",
        }
        counted = {name: queries(client, url) for name, url in urls.items()}
        later = next_page(client, "/gallery/?kind=image")
        counted["next page"] = queries(client, later, HTTP_HX_REQUEST="true")
        counted["filter by htmx"] = queries(client, "/gallery/?kind=video", HTTP_HX_REQUEST="true")
        return counted

    small = views()
    seed(alpha, [alice, bob], assets=9_900, boards=45, start=100)
    assert Asset.objects.count() == 10_000 and Board.objects.count() == 50
    large = views()

    for name in small:
        assert len(large[name]) == len(small[name]), (name, large[name])
        assert not any(" OFFSET " in sql.upper() for sql in large[name]), name
    assert len(large["grid"]) <= 8

"""Every page, at a desktop and a phone size, as a careful person looks at it: pictures and
videos at the shape of their files, nothing wider than the window, no control past its
edge, and a header that leaves the phone's screen to the page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SIZES, box, measure, snap

pytestmark = pytest.mark.browser


def pages(s) -> list[str]:
    return [
        "/",
        "/?mode=video",
        "/gallery/",
        "/gallery/?q=lighthouse&kind=gif&sort=old",
        "/gallery/trash/",
        "/boards/",
        f"/boards/{s.board.pk}/",
        f"/assets/{s.square.uid}/",
        f"/assets/{s.tall.uid}/",
        f"/assets/{s.edit.uid}/",
        f"/assets/{s.video.uid}/",
        f"/assets/{s.square.uid}/edit/",
        f"/assets/{s.tall.uid}/edit/",
        f"/assets/{s.wide.uid}/animate/",
        "/usage/",
        "/keys/",
        "/docs/api/",
        "/models/",
        "/workspace/members/",
        "/accounts/password/",
        "/accounts/password/reset/",
    ]


@pytest.mark.parametrize("size", SIZES)
def test_every_page_shows_media_true_to_size_and_fits_the_window(
    studio, open_page, live_server, size
):
    from django.utils import timezone

    from studio.gallery import lifecycle
    from studio.gallery.models import Board, BoardAsset, Share
    from studio.generations import media
    from tests.browser.conftest import png

    studio.board = Board.objects.create(workspace=studio.workspace, name="Launch week")
    for asset in (studio.square, studio.tall, studio.video):
        BoardAsset.objects.create(board=studio.board, asset=asset)
    binned = media.make_asset(
        media.store_image(png(800, 600), workspace_id=studio.workspace.id),
        workspace=studio.workspace,
        user=studio.alice,
        made_by="upload",
        prompt="binned",
    )
    lifecycle.trash([binned.pk], timezone.now())
    now = timezone.now()
    shares = [
        Share.start(user=studio.alice, now=now, expiry="week", board=studio.board),
        Share.start(user=studio.alice, now=now, expiry="never", asset=studio.square),
        Share.start(user=studio.alice, now=now, expiry="day", asset=studio.video),
    ]
    page = open_page(studio.alice, size)
    for path in [*pages(studio), *(s.get_absolute_url() for s in shares)]:
        page.goto(live_server.url + path)
        assert measure(page) == [], path
    # The big picture of an asset page is drawn at the file's own shape, and whole.
    for asset in (studio.square, studio.tall):
        page.goto(f"{live_server.url}/assets/{asset.uid}/")
        stage = page.locator(".asset-stage img")
        drawn = box(stage)
        assert drawn["width"] / drawn["height"] == pytest.approx(
            asset.width / asset.height, rel=0.01
        )
        assert drawn["height"] <= SIZES[size][1]
        snap(page, f"true-size-{size}-{asset.width}x{asset.height}")


def test_on_a_phone_the_header_leaves_the_screen_to_the_page(studio, open_page):
    page = open_page(studio.alice, "phone", "/gallery/")
    header = page.locator("header.topbar")
    assert box(header)["height"] < 110  # logo, balance and menus on one row, links on the next
    page.mouse.wheel(0, 600)
    page.wait_for_function("() => scrollY > 300")
    visible = page.evaluate(
        "() => { const r = document.querySelector('header.topbar').getBoundingClientRect();"
        " return Math.max(0, r.bottom); }"
    )
    assert visible <= 56  # only the row of links stays
    assert page.get_by_role("link", name="Usage").first.is_visible()
    snap(page, "phone-header-scrolled")

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
    from studio.generations.models import Asset

    Asset.objects.filter(pk=studio.square.pk).update(share_token="s" * 32)
    page = open_page(studio.alice, size)
    for path in [*pages(studio), "/s/" + "s" * 32 + "/"]:
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

"""Viewing that people trust: the full-size viewer from the gallery, an asset page and the job
cards; the before/after slider of an edit; a crop box that is the crop you get."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from studio.generations.models import Asset
from tests.browser.conftest import SIZES, box, snap

pytestmark = pytest.mark.browser

VIEWER_IMAGE = "#viewer .viewer-stage img"


def drawn_aspect(page) -> float:
    b = box(page.locator(VIEWER_IMAGE))
    return b["width"] / b["height"]


def shown_asset(page) -> str:
    return page.locator(VIEWER_IMAGE).get_attribute("src").split("/")[2]


def scale(page) -> int:
    return int(page.locator("[data-viewer-scale]").inner_text().rstrip("%"))


@pytest.mark.parametrize("size", SIZES)
def test_the_viewer_zooms_pans_and_walks_the_gallery(studio, open_page, size):
    page = open_page(studio.alice, size, "/gallery/")
    gallery = list(Asset.objects.for_workspace(studio.workspace))  # newest first, as shown
    at = next(i for i, a in enumerate(gallery) if not (a.is_video or gallery[i + 1].is_video))
    page.locator(".tile-view").nth(at).click()
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    first, second = gallery[at], gallery[at + 1]
    assert shown_asset(page) == first.uid
    page.wait_for_function(f"() => document.querySelector('{VIEWER_IMAGE}').complete")
    assert drawn_aspect(page) == pytest.approx(first.width / first.height, rel=0.01)
    # The whole picture fits the screen, at most at its own size.
    fitted = box(page.locator(VIEWER_IMAGE))
    assert fitted["inView"] and fitted["width"] <= first.width + 1

    page.keyboard.press("+")
    page.keyboard.press("+")
    assert scale(page) > 100 * fitted["width"] / first.width
    zoomed = box(page.locator(VIEWER_IMAGE))
    assert zoomed["width"] > fitted["width"]
    assert zoomed["width"] / zoomed["height"] == pytest.approx(first.width / first.height, rel=0.01)
    # Drag to pan: the picture follows the pointer.
    stage = box(page.locator("#viewer .viewer-stage"))
    x, y = stage["left"] + stage["width"] / 2, stage["top"] + stage["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 40, steps=4)
    page.mouse.up()
    panned = box(page.locator(VIEWER_IMAGE))
    assert panned["left"] != zoomed["left"] or panned["top"] != zoomed["top"]
    snap(page, f"viewer-zoomed-{size}")

    page.keyboard.press("ArrowRight")
    assert shown_asset(page) == second.uid
    page.wait_for_function(f"() => document.querySelector('{VIEWER_IMAGE}').complete")
    assert drawn_aspect(page) == pytest.approx(second.width / second.height, rel=0.01)
    page.keyboard.press("ArrowLeft")
    assert shown_asset(page) == first.uid
    expect(page.locator("[data-viewer-open]")).to_have_attribute("href", f"/assets/{first.uid}/")
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()


def test_the_viewer_opens_from_an_asset_page_and_walks_to_its_neighbours(studio, open_page):
    page = open_page(studio.alice, "desktop", f"/assets/{studio.square.uid}/")
    page.locator(".asset-stage .stage-link").click()
    expect(page.locator("#viewer")).to_be_visible()
    assert shown_asset(page) == studio.square.uid
    page.keyboard.press("ArrowLeft")  # the newer one, as the ‹ beside the picture
    newer = page.locator(".stage-newer").get_attribute("href").split("/")[2]
    assert shown_asset(page) == newer
    page.keyboard.press("Escape")
    # The ‹ and › themselves go to the neighbours' pages.
    page.locator(".stage-newer").click()
    expect(page).to_have_url(f"{page.url.split('/assets/')[0]}/assets/{newer}/")


def test_the_viewer_opens_from_a_job_card_and_plays_a_video(studio, open_page):
    page = open_page(studio.alice)
    card = page.locator(f"#job-{studio.edit_job.public_id}")
    card.locator(".output a[data-viewer]").click()
    assert shown_asset(page) == studio.edit.uid
    page.locator("[data-viewer-next]").click()  # the next card's picture
    assert shown_asset(page) != studio.edit.uid
    page.keyboard.press("Escape")
    page.locator(".output-actions a", has_text="View").first.click()
    video = page.locator("#viewer video")
    expect(video).to_be_visible()
    page.wait_for_function("() => document.querySelector('#viewer video').readyState >= 1")
    b = box(video)
    assert b["width"] / b["height"] == pytest.approx(320 / 180, rel=0.01)
    page.keyboard.press("Escape")
    expect(page.locator("#viewer")).to_be_hidden()


def test_an_edit_slides_against_its_original(studio, open_page):
    page = open_page(studio.alice, "desktop", f"/assets/{studio.edit.uid}/")
    compare = page.locator("#compare")
    after, before = compare.locator(".compare-after"), compare.locator(".compare-before img")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    a, b = box(after), box(before)
    assert a["width"] / a["height"] == pytest.approx(
        studio.edit.width / studio.edit.height, rel=0.01
    )
    assert (b["width"], b["height"]) == pytest.approx((a["width"], a["height"]), abs=1)

    def shown_of_before() -> float:
        # How much of the original shows: the clip's right edge, as a share of the width.
        return compare.evaluate(
            "c => { const r = c.querySelector('.compare-before').getBoundingClientRect();"
            " const l = c.querySelector('.compare-line').getBoundingClientRect();"
            " return (l.left + l.width / 2 - r.left) / r.width; }"
        )

    assert shown_of_before() == pytest.approx(0.5, abs=0.02)
    compare.locator(".compare-range").fill("20")
    assert shown_of_before() == pytest.approx(0.2, abs=0.02)
    compare.locator(".compare-range").focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    assert shown_of_before() == pytest.approx(0.3, abs=0.02)
    snap(page, "compare")


@pytest.mark.parametrize("which", ["square", "tall"])
def test_the_crop_box_is_the_crop_you_get(studio, open_page, live_server, which):
    asset = getattr(studio, which)
    page = open_page(studio.alice, "desktop", f"/assets/{asset.uid}/edit/")
    page.get_by_role("tab", name="Quick tools · free").click()
    page.locator(".segmented label", has_text="16:9").click()
    image, crop = box(page.locator("#stage-image")), box(page.locator("#crop-box"))
    assert image["width"] / image["height"] == pytest.approx(asset.width / asset.height, rel=0.01)
    # What the box covers, in the file's pixels, is what the form will send.
    k = asset.width / image["width"]
    shown = [
        (crop["left"] - image["left"]) * k,
        (crop["top"] - image["top"]) * k,
        crop["width"] * k,
        crop["height"] * k,
    ]
    sent = [int(page.locator(f"#crop-{f}").input_value()) for f in "xywh"]
    assert shown == pytest.approx(sent, abs=k * 3)  # within the box's 2 px border
    snap(page, f"crop-box-{which}")
    page.get_by_role("button", name="Crop", exact=True).click()
    expect(page.get_by_text("Made a new image with crop")).to_be_visible()
    made = Asset.objects.filter(parent=asset, made_by="crop").latest("created_at")
    assert (made.width, made.height) == (sent[2], sent[3])
    assert made.width / made.height == pytest.approx(16 / 9, rel=0.01)

"""The team gallery as a person uses it, in a real browser: generate into a board, find it
by search and by filters, follow its lineage, file it in a second board, share the board and
stop sharing it, download three assets (one a video) as a ZIP, trash one and restore it."""

from __future__ import annotations

import re
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from studio.gallery.models import Board, BoardAsset
from studio.generations import runner
from studio.generations.models import Asset, Job
from tests.browser.conftest import measure, snap

pytestmark = pytest.mark.browser


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def tiles(page) -> list[str]:
    return [t.get_attribute("id")[5:] for t in page.locator("#gallery-grid .tile").all()]


def test_the_gallery_story(studio, open_page, live_server, browser):
    base = live_server.url
    page = open_page(studio.alice)
    for name in ("Launch", "Moodboard"):
        page.goto(f"{base}/boards/")
        page.get_by_label("A new board's name").fill(name)
        page.get_by_role("button", name="Make a board").click()
        expect(page.get_by_role("heading", name=name)).to_be_visible()
    launch, mood = Board.objects.get(name="Launch"), Board.objects.get(name="Moodboard")

    # Generate into a board: an edit of the lighthouse, picked as a reference.
    page.goto(f"{base}/assets/{studio.wide.uid}/")
    page.locator("aside").get_by_role("link", name="Use as reference").click()
    page.locator("#prompt").fill("a lighthouse under the northern lights")
    page.get_by_label("Into board").select_option(label="Launch")
    page.locator("#generate-verdict button[type=submit]").click()
    card = page.locator("#jobs .job-card").first
    expect(card).to_contain_text("Launch")
    job = Job.objects.get(prompt="a lighthouse under the northern lights")
    assert job.board == launch
    runner.run_job(job.pk)  # what the worker does with it
    expect(card).to_have_attribute("data-status", "completed", timeout=15_000)
    made = Asset.objects.get(job=job)
    assert BoardAsset.objects.filter(board=launch, asset=made).exists()

    # Find it by search, and by model, member and favourites, through the URL's filters.
    page.goto(f"{base}/gallery/")
    page.get_by_label("Search prompts").fill("northern lights")
    expect(page.locator("#gallery-grid .tile")).to_have_count(1)
    assert tiles(page) == [made.uid] and query(page) == {"q": ["northern lights"]}
    page.get_by_label("Search prompts").fill("")
    expect(page.locator("#gallery-grid .tile")).to_have_count(Asset.objects.count())
    page.locator("summary", has_text="More filters").click()
    page.get_by_label("Model").select_option("gemini-2.5-flash-image")
    page.get_by_label("Made by").select_option("alice")
    expect(page).to_have_url(re.compile(r"member=alice"))
    assert query(page) == {"model": ["gemini-2.5-flash-image"], "member": ["alice"]}
    assert made.uid in tiles(page) and studio.video.uid not in tiles(page)
    page.locator(f"#tile-{made.uid} .star").click()
    expect(page.locator(f"#tile-{made.uid} .star")).to_have_attribute("aria-pressed", "true")
    page.locator("label.toggle-chip").click()
    expect(page.locator("#gallery-grid .tile")).to_have_count(1)
    assert query(page)["fav"] == ["1"]
    snap(page, "gallery-filtered")
    assert measure(page) == []
    page.reload()  # the view is the URL: it comes back as it was
    assert tiles(page) == [made.uid]

    # Open it and follow its lineage both ways.
    page.locator(f"#tile-{made.uid} .tile-body").click()
    expect(page).to_have_url(f"{base}/assets/{made.uid}/")
    page.locator("#lineage a").first.click()
    expect(page).to_have_url(f"{base}/assets/{studio.wide.uid}/")
    children = page.locator("#lineage .lineage-children a")
    expect(children).to_have_count(3)  # the edit, the video and our new one
    page.locator(f"#lineage .lineage-children a[href='/assets/{studio.video.uid}/']").click()
    expect(page.locator(".asset-stage video")).to_be_visible()
    page.goto(f"{base}/assets/{made.uid}/")

    # Add it to a second board from its page.
    boards = page.locator("#boards")
    boards.get_by_label("A board to add it to").select_option(label="Moodboard")
    boards.get_by_role("button", name="Add to board").click()
    expect(page.locator("#boards .chip-list")).to_contain_text("Moodboard")
    snap(page, "asset-page-boards")

    # Share the board, open the link signed out, then stop sharing.
    page.goto(f"{base}/boards/{mood.pk}/")
    page.locator("summary", has_text="Share").click()
    page.get_by_label("Works for").select_option("day")
    page.get_by_role("button", name="Create a share link").click()
    page.locator("summary", has_text="Shared by link").click()
    link = page.locator("#share-link").inner_text().strip()
    assert link.startswith(f"{base}/s/")
    stranger = browser.new_context(viewport={"width": 390, "height": 844})
    outside = stranger.new_page()
    outside.goto(link)
    expect(outside.get_by_role("heading", name="Moodboard")).to_be_visible()
    expect(outside.locator(".tile")).to_have_count(1)
    assert measure(outside) == []
    snap(outside, "shared-board-phone")
    media = [
        outside.locator(".tile-media").get_attribute("src"),
        outside.locator(".tile-view").get_attribute("href"),
    ]
    for url in media:
        assert stranger.request.get(base + url).status == 200
    page.get_by_role("button", name="Stop sharing").click()
    expect(page.locator(".flash")).to_contain_text("no longer work")
    assert outside.goto(link).status == 404
    for url in media:
        assert stranger.request.get(base + url).status == 404
    stranger.close()

    # Select three (one a video) and download them as one ZIP.
    page.goto(f"{base}/gallery/")
    expect(page.locator("#bulk")).to_be_hidden()
    page.locator(f"#tile-{studio.video.uid} .tile-check input").click()
    expect(page.locator("#bulk")).to_be_visible()
    page.locator(f"#tile-{made.uid} .tile-check input").click()
    # Once something is ticked, a click on a picture ticks it too.
    page.locator(f"#tile-{studio.square.uid} .tile-view").click()
    expect(page.locator("[data-bulk-n]")).to_have_text("3")
    snap(page, "gallery-selected")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download ZIP").click()
    archive = zipfile.ZipFile(download.value.path())
    names = archive.namelist()
    assert len(names) == 3 and archive.testzip() is None
    for asset in (studio.video, made, studio.square):
        assert any(asset.uid in n for n in names)
    assert any(n.endswith(f"{studio.video.uid}.mp4") for n in names)

    # Trash one, then restore it from the trash.
    page.get_by_role("button", name="Clear").click()
    page.locator(f"#tile-{made.uid} .tile-check input").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Move to trash").click()
    expect(page.locator(".flash")).to_contain_text("Moved 1 to the trash")
    expect(page.locator(f"#tile-{made.uid}")).to_have_count(0)
    page.get_by_role("link", name=re.compile("Trash")).click()
    page.locator(f"#tile-{made.uid}").get_by_role("button", name="Restore").click()
    expect(page).to_have_url(f"{base}/assets/{made.uid}/")
    expect(page.locator(".flash")).to_contain_text("Restored")
    assert BoardAsset.objects.filter(asset=made).count() == 2  # back in both boards

"""Making more from what is there, in the browser: Use prompt, Re-run and Vary from a card,
reference images from the gallery and the disk, and a video from a prompt alone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from studio.credits import ledger
from studio.generations import runner
from studio.generations.models import Job
from studio.providers.local import render_video_task
from studio.providers.models import LocalTask
from tests.browser.conftest import box, png, snap

pytestmark = pytest.mark.browser


def test_use_prompt_re_run_and_vary_from_a_card(studio, open_page):
    page = open_page(studio.alice)
    card = page.locator(f"#job-{studio.edit_job.public_id}")
    card.get_by_role("link", name="Use prompt").click()
    # The composer holds the prompt, the model, the size and the image it was made from.
    expect(page.locator("#prompt")).to_have_value("make it stormy")
    expect(page.locator("input[name=model][value='gemini-2.5-flash-image']")).to_be_checked()
    expect(page.locator("#size")).to_have_value("16:9")
    expect(page.locator(f"#ref-chips input[value='{studio.wide.uid}']")).to_have_count(1)
    snap(page, "use-prompt")

    card = page.locator(f"#job-{studio.edit_job.public_id}")
    card.get_by_role("button", name="Re-run · 2 credits").click()
    first = page.locator("#jobs .job-card").first
    expect(first).to_have_attribute("data-status", "queued")
    expect(first).to_contain_text("make it stormy")
    expect(page.locator("#balance-pill")).to_contain_text("494")

    card.locator("summary", has_text="Vary").click()
    card.get_by_label("Change the prompt a little").fill("make it stormy, with lightning")
    card.get_by_role("button", name="Vary · 2 credits").click()
    expect(page.locator("#jobs .job-card").first).to_contain_text("with lightning")
    assert Job.objects.filter(prompt="make it stormy, with lightning", kind="edit").exists()
    assert Job.objects.filter(retry_of=studio.edit_job).count() == 1

    # From the asset page too; a refusal is said where the button was.
    ledger.adjust(studio.workspace, -ledger.balance(studio.workspace))
    page.goto(page.url.split("/?")[0] + f"/assets/{studio.edit.uid}/")
    page.get_by_role("button", name="Re-run · 2 credits").click()
    error = page.locator(".card-feedback .form-error")
    expect(error).to_contain_text("needs 2.00 credits and the workspace has 0.00")
    assert box(error)["inView"]


def test_reference_images_from_the_gallery_and_the_disk(studio, open_page, tmp_path):
    page = open_page(studio.alice)
    page.get_by_role("link", name="From the gallery").click()
    picker = page.locator("#ref-picker")
    expect(picker).to_be_visible()
    picker.locator(f"[data-ref-add='{studio.square.uid}']").click()
    picker.locator(f"[data-ref-add='{studio.wide.uid}']").click()
    expect(picker.locator("[aria-pressed=true]")).to_have_count(2)
    snap(page, "reference-picker")
    picker.get_by_role("button", name="Done").click()
    chips = page.locator("#ref-chips .ref-chip")
    expect(chips).to_have_count(2)

    upload = tmp_path / "sketch.png"
    upload.write_bytes(png(200, 100).getvalue())
    page.locator("input[name=reference_file]").set_input_files(str(upload))
    expect(chips).to_have_count(3)
    expect(page.locator("input[name=reference_file]")).to_have_value("")  # sent once, now
    chips.nth(1).get_by_role("button", name="Remove this reference").click()
    expect(chips).to_have_count(2)
    snap(page, "references")

    page.locator("#prompt").fill("the test card in the style of the sketch")
    page.locator("#generate-verdict button[type=submit]").click()
    expect(page.locator("#jobs .job-card").first).to_contain_text("and 1 more reference")
    job = Job.objects.get(prompt__startswith="the test card")
    assert (job.kind, job.source_asset) == ("edit", studio.square)
    (other,) = job.inputs["images"]
    assert other.endswith(".png") and "sketch" not in other  # the upload, kept in the gallery


def test_a_video_from_a_prompt_alone_plays_at_its_shape(studio, open_page):
    page = open_page(studio.alice, "phone")
    page.get_by_role("link", name="Video", exact=True).click()
    page.get_by_label("Describe the video").fill("waves at dusk, slow drift")
    page.locator("label.model-option", has_text="Wan").click()
    page.locator("#aspect").select_option("9:16")
    page.locator("#duration").fill("1")
    page.locator("#duration").dispatch_event("change")
    button = page.locator("#generate-verdict button[type=submit]")
    expect(button).to_contain_text("Make the video · 2 credits")
    assert box(button)["inView"]
    button.click()
    card = page.locator("#jobs .job-card").first
    expect(card).to_have_attribute("data-status", "queued")
    job = Job.objects.get(prompt="waves at dusk, slow drift")
    assert (job.kind, job.source_asset, job.quote["size"]) == ("animate", None, "720x1280")

    # The pipeline runs it (a worker would): submit, render, poll. The page's poller follows.
    runner.run_job(job.pk)
    render_video_task(LocalTask.objects.get().pk)
    runner.poll_due()
    expect(card).to_have_attribute("data-status", "completed", timeout=15_000)
    video = card.locator("video")
    expect(video).to_be_visible()
    page.wait_for_function(
        "v => v.getBoundingClientRect().height > 200", arg=video.element_handle()
    )
    drawn = box(video)
    assert drawn["width"] / drawn["height"] == pytest.approx(720 / 1280, rel=0.01)
    card.scroll_into_view_if_needed()
    snap(page, "text-to-video")

"""The product's main job in a real browser, with a real worker: generate → crop → AI edit →
animate → watch it play → see the three charges on the usage page. And a failure."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from studio.accounts.models import Workspace
from studio.credits import ledger
from studio.generations.models import Asset, Job
from tests.factories import ledger_total

pytestmark = [pytest.mark.browser, pytest.mark.slow]
JOB_TIMEOUT = 60_000


@pytest.fixture
def demo(transactional_db, monkeypatch, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo", stdout=io.StringIO())
    return Workspace.objects.get(name="Demo studio")


def sign_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("demo")
    page.get_by_label("Password").fill("demo-pass-123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Studio")).to_be_visible()


def wait_for_card(page, status="completed"):
    card = page.locator("#jobs .job-card").first
    expect(card).to_have_attribute("data-status", status, timeout=JOB_TIMEOUT)
    return card


def test_generate_crop_edit_animate_and_see_the_charges(page, live_server, demo, worker, shot):
    sign_in(page, live_server)
    page.get_by_label("Prompt", exact=True).fill("a red bicycle by the sea at sunset")
    button = page.locator("#generate-form button[type=submit]")
    expect(button).to_have_text(re.compile(r"Generate\s*· 2 credits"))
    page.get_by_label("Size", exact=True).select_option("16:9")  # htmx re-prices: still 2
    page.locator("label.model-option", has_text="GPT Image 2").click()
    expect(button).to_have_text(re.compile(r"Generate\s*· 14 credits"))
    page.locator(".segmented label", has_text="low").click()
    expect(button).to_have_text(re.compile(r"Generate\s*· 1 credit\s*$"))
    page.locator("label.model-option", has_text="Gemini 2.5 Flash Image").click()
    expect(button).to_have_text(re.compile(r"Generate\s*· 2 credits"))
    shot("10-studio-ready")

    button.click()
    card = page.locator("#jobs .job-card").first
    expect(card).to_be_visible()
    shot("11-job-running")
    card = wait_for_card(page)
    expect(card.locator("img.output-media")).to_be_visible()
    expect(card).to_contain_text("Charged 2 credits")
    shot("12-generated")

    # Crop to 16:9 with the free tool: a new asset whose parent is the original.
    card.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit", exact=True)).to_be_visible()
    page.get_by_role("tab", name="Quick tools · free").click()
    expect(page.locator("#crop-box")).to_be_visible()
    shot("13-crop-tool")
    page.get_by_role("button", name="Crop", exact=True).click()
    expect(page.get_by_text("Made a new image with crop")).to_be_visible()
    cropped = Asset.objects.get(made_by="crop")
    assert cropped.parent.made_by == "generate"
    assert abs(cropped.width / cropped.height - 16 / 9) < 0.01

    # AI edit of the crop, with a mask painted on part of it.
    page.get_by_label("What should change?").fill("make it black and white")
    page.get_by_role("button", name="Paint the area to change").click()
    canvas = page.locator("#mask-canvas")
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=8)
    page.mouse.up()
    page.get_by_role("button", name="Done painting").click()
    shot("14-mask-painted")
    page.locator("#edit-form button[type=submit]").click()
    card = wait_for_card(page)
    expect(card).to_contain_text("Charged 2 credits")
    edit_job = Job.objects.get(kind="edit")
    assert edit_job.source_asset == cropped and edit_job.inputs.get("mask")
    shot("15-ai-edited")

    # Animate the edited image: 2 s of Veo lite at 720P is 2 credits.
    card.get_by_role("link", name="Animate").click()
    expect(page.get_by_role("heading", name="Animate into a video")).to_be_visible()
    page.get_by_label("How should it move?").fill("slow push-in, light drifting")
    page.locator("#duration").fill("2")
    page.locator("#duration").dispatch_event("change")
    submit = page.locator("#animate-form button[type=submit]")
    expect(submit).to_have_text(re.compile(r"Animate\s*· 2 credits"))
    shot("16-animate-ready")
    submit.click()
    expect(page.locator("#jobs .job-card .progress").first).to_be_visible()
    shot("17-video-rendering")
    card = wait_for_card(page)
    video = card.locator("video")
    expect(video).to_be_visible()
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 0.3", arg=video.element_handle(), timeout=15_000)
    # Seeking needs Range responses: jump to 1.5 s and play on from there.
    video.evaluate("v => { v.pause(); v.currentTime = 1.5; }")
    page.wait_for_function(
        "v => !v.seeking && Math.abs(v.currentTime - 1.5) < 0.1",
        arg=video.element_handle(),
        timeout=10_000,
    )
    assert video.evaluate("v => v.duration") == pytest.approx(2.0, abs=0.1)
    shot("18-video-playing")

    # The usage page shows the three charges, and the balance agrees with the ledger.
    page.get_by_role("link", name="Usage").first.click()
    rows = page.locator("#jobs-table tbody tr")
    expect(rows).to_have_count(3)
    for i in range(3):
        expect(rows.nth(i).locator("td").nth(6)).to_have_text("2")
    expect(page.locator("#usage-balance")).to_contain_text("494")
    assert ledger.balance(demo) == ledger_total(demo) == 494
    shot("19-usage")


@pytest.mark.worker_env(LOCAL_PROVIDER_FAIL_RATE="1")
def test_a_provider_failure_is_shown_and_costs_nothing(page, live_server, demo, worker, shot):
    sign_in(page, live_server)
    page.get_by_label("Prompt", exact=True).fill("a lighthouse in a storm")
    page.locator("#generate-form button[type=submit]").click()
    card = wait_for_card(page, "failed")
    expect(card).to_contain_text("LOCAL_PROVIDER_FAIL_RATE")
    expect(card).to_contain_text(Job.objects.get().failure)  # the sentence of its code
    expect(card.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.locator("#balance-pill")).to_contain_text("500")
    assert ledger.balance(demo) == 500
    shot("20-failed")


def test_too_few_credits_is_a_clear_message_before_anything_is_queued(
    page, live_server, demo, shot
):
    ledger.adjust(demo, -499)
    sign_in(page, live_server)
    page.get_by_label("Prompt", exact=True).fill("a castle")
    page.locator("label.model-option", has_text="GPT Image 2").click()
    # Said before the click: the button can't be pressed, and says what is missing.
    shortfall = page.locator("#generate-verdict .shortfall")
    expect(shortfall).to_have_text("Needs 14, you have 1 — add credits")
    expect(shortfall.get_by_role("link", name="add credits")).to_be_visible()
    expect(page.locator("#generate-form button[type=submit]")).to_be_disabled()
    assert not Job.objects.exists()
    shot("21-insufficient")

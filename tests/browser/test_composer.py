"""The studio's composer as a person uses it: the Generate button and what it says stay on
screen whatever the model, the keyboard works, and the price checks the current balance."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from studio.accounts.models import Membership
from studio.catalog.tables import MODELS
from studio.credits import ledger
from studio.generations.models import Job
from tests.browser.conftest import SIZES, box, snap

pytestmark = pytest.mark.browser


def radio(page, name: str, value: str):
    return page.locator(f"input[name={name}][value='{value}']")


def choose_model(page, model) -> None:
    """Pick `model` with its tallest options: the quality row, and a custom size if offered."""
    page.locator("label.model-option", has=radio(page, "model", model.id)).click()
    button = page.locator("#generate-verdict button[type=submit]")
    expect(radio(page, "model", model.id)).to_be_checked()
    if model.qualities:
        page.locator(f"label[for='quality-{model.qualities[-1]}']").click()
        expect(page.locator(f"#quality-{model.qualities[-1]}")).to_be_checked()
    if model.size_rule == "gpt-image-2":
        page.locator("#size").select_option("custom")
        expect(page.locator("#width")).to_be_visible()
    expect(button).to_contain_text("credit")


@pytest.mark.parametrize("size", SIZES)
def test_the_button_and_its_error_stay_in_view_with_every_model(studio, open_page, size):
    # A monthly limit below every price: each submission is refused with a message.
    Membership.objects.filter(user=studio.alice).update(monthly_limit=Decimal("0.50"))
    page = open_page(studio.alice, size)
    for mode in ("image", "video"):
        if mode == "video":
            page.get_by_role("link", name="Video", exact=True).click()
            expect(page.get_by_label("Describe the video")).to_be_visible()
        page.locator("#prompt").fill("a red bicycle by the sea")
        for model in (m for m in MODELS.values() if m.kind == mode):
            choose_model(page, model)
            button = page.locator("#generate-verdict button[type=submit]")
            # Wherever the page is scrolled to while the options are on screen.
            page.locator("label.model-option", has=radio(page, "model", model.id)).hover()
            assert box(button)["inView"], (mode, model.id, box(button))
            if size == "desktop":
                page.mouse.wheel(0, 4000)  # the page scrolls; the composer stays
                page.wait_for_timeout(100)
                assert box(button)["inView"], (model.id, "scrolled")
            button.click()
            error = page.locator("#generate-feedback .form-error")
            expect(error).to_contain_text("monthly limit")
            assert box(error)["inView"] and box(button)["inView"], (mode, model.id)
            snap(page, f"composer-{size}-{model.id}")
    assert not Job.objects.filter(user=studio.alice, status="queued").exists()


@pytest.mark.parametrize("size", SIZES)
def test_the_button_says_what_the_balance_lacks_before_the_click(studio, open_page, size):
    ledger.adjust(studio.workspace, -(ledger.balance(studio.workspace) - Decimal("201.60")))
    page = open_page(studio.alice, size)
    page.locator("label.model-option", has=radio(page, "model", "gpt-image-2")).click()
    page.locator("label[for='quality-high']").click()
    expect(page.locator("#quality-high")).to_be_checked()
    page.locator("#size").select_option("3840x2160")
    page.locator("#n").select_option("2")
    shortfall = page.locator("#generate-verdict .shortfall")
    expect(shortfall).to_have_text(re.compile(r"Needs 266, you have 201.60 — add credits"))
    button = page.locator("#generate-verdict button[type=submit]")
    expect(button).to_be_disabled()
    expect(button).to_contain_text("266 credits")
    assert box(shortfall)["inView"] and box(button)["inView"]
    expect(shortfall.get_by_role("link", name="add credits")).to_have_attribute("href", "/usage/")
    snap(page, f"shortfall-{size}")


def test_a_custom_size_is_checked_while_it_is_typed(studio, open_page):
    page = open_page(studio.alice)
    page.locator("label.model-option", has=radio(page, "model", "gpt-image-2")).click()
    page.locator("label[for='quality-low']").click()
    page.locator("#size").select_option("custom")
    verdict = page.locator("#generate-verdict")
    page.locator("#width").fill("1000")
    expect(verdict.locator(".form-error")).to_contain_text("multiples of 16")
    expect(verdict.locator("button[type=submit]")).to_be_disabled()
    page.locator("#width").fill("1600")
    page.locator("#height").fill("912")
    expect(verdict.locator("button[type=submit]")).to_contain_text("2 credits")
    expect(verdict).to_contain_text("1600x912")
    assert page.locator("#height").input_value() == "912"
    page.locator("#prompt").fill("a wide banner")
    verdict.locator("button[type=submit]").click()
    expect(page.locator("#jobs .job-card").first).to_contain_text("1600x912")
    assert Job.objects.get(model="gpt-image-2").quote["size"] == "1600x912"


def test_the_keyboard_moves_through_the_models_and_reaches_upload(studio, open_page):
    page = open_page(studio.alice)
    radio(page, "model", "gemini-2.5-flash-image").focus()
    page.keyboard.press("ArrowDown")
    expect(radio(page, "model", "gemini-3.1-flash-image-preview")).to_be_checked()
    expect(radio(page, "model", "gemini-3.1-flash-image-preview")).to_be_focused()
    page.keyboard.press("ArrowDown")  # focus survived the options being re-rendered
    expect(radio(page, "model", "gemini-3-pro-image-preview")).to_be_checked()
    expect(radio(page, "model", "gemini-3-pro-image-preview")).to_be_focused()
    expect(page.locator("#generate-verdict button[type=submit]")).to_contain_text("8 credits")

    page.locator("body").focus()
    upload = page.locator(".page-actions input[type=file][name=image]")
    for _ in range(20):
        page.keyboard.press("Tab")
        if upload.evaluate("el => el === document.activeElement"):
            break
    expect(upload).to_be_focused()


def test_the_balance_under_the_button_follows_the_header(studio, open_page):
    page = open_page(studio.alice)
    note = page.locator("#generate-verdict .cost-note")
    expect(note).to_contain_text("balance 496")
    page.locator("#prompt").fill("a kite")
    page.locator("#generate-verdict button[type=submit]").click()
    expect(page.locator("#balance-pill")).to_contain_text("494")
    expect(note).to_contain_text("balance 494")

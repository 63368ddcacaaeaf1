"""Progress that moves: one poll per page for every running card, none while the tab is
hidden, an estimate that advances between the provider's reports, and the count in the title."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from studio.generations.models import Job
from tests.browser.conftest import snap
from tests.factories import make_job

pytestmark = pytest.mark.browser

HIDE = """() => {
  Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW = """() => {
  delete document.hidden; delete document.visibilityState;
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_one_poll_per_page_paused_while_hidden_and_a_bar_that_moves(studio, open_page):
    cache.clear()  # typical times measured by other tests' jobs
    now = timezone.now()
    # This model took 20 s per image lately; three cards are running.
    Job.objects.filter(pk=studio.edit_job.pk).update(
        started_at=now - timedelta(seconds=20), finished_at=now
    )
    Job.objects.exclude(pk=studio.edit_job.pk).update(model="veo")  # not history for the estimate
    running = [
        make_job(
            studio.workspace,
            studio.alice,
            {"model": "gemini-2.5-flash-image", "size": "16:9"},
            status="processing",
            progress=5,
            started_at=now,
            prompt=f"running {i}",
        )
        for i in range(3)
    ]
    page = open_page(studio.alice)
    polls = []
    page.on("request", lambda r: "/jobs/" in r.url and polls.append(r.url))
    expect(page).to_have_title("(3) Studio · Pixapi Studio")
    bar = page.locator(f"#job-{running[0].public_id} progress")
    start = int(bar.get_attribute("value"))
    page.wait_for_timeout(5000)
    assert 2 <= len(polls) <= 3  # every 2 s, for all three cards at once
    assert all(url.count("id=") == 3 for url in polls)
    assert all("/jobs/poll/" in url for url in polls)
    moved = int(bar.evaluate("b => b.value"))
    assert moved > start  # the estimate moves though the provider still says 5 %
    eta = page.locator(f"#job-{running[0].public_id} .job-eta").inner_text()
    assert re.match(r"About 1\d s left", eta), eta
    snap(page, "progress")

    page.evaluate(HIDE)
    polls.clear()
    page.wait_for_timeout(4500)
    assert polls == []  # nothing asked while nobody looks
    page.evaluate(SHOW)
    page.wait_for_timeout(400)
    assert 1 <= len(polls) <= 2  # at once on coming back, not at the next tick

    # Two end: their cards settle, the title counts one, and polling asks for one.
    now = timezone.now()
    Job.objects.filter(pk__in=[j.pk for j in running[:2]]).update(
        status="failed", error_code="generation_failed", finished_at=now
    )
    expect(page.locator(f"#job-{running[0].public_id}")).to_have_attribute("data-status", "failed")
    expect(page).to_have_title("(1) Studio · Pixapi Studio")
    polls.clear()
    page.wait_for_timeout(2500)
    assert polls and all(url.count("id=") == 1 for url in polls)

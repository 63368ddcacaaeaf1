"""What a job card offers: an estimate of the time left, more of the same (Use prompt, Re-run,
Vary), and Cancel only where it really stops the job."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from studio.credits import ledger
from studio.front import iterate, progress
from studio.generations import media, runner
from studio.generations.models import Job
from tests.factories import make_job
from tests.test_api import png

D = Decimal


@pytest.fixture
def funded(alpha):
    ledger.grant(alpha, 100)
    return alpha


@pytest.fixture
def image(funded, alice):
    stored = media.store_image(png(320, 240), workspace_id=funded.id)
    return media.make_asset(stored, workspace=funded, user=alice, made_by="upload")


def done(job, seconds: float, now):
    """Mark `job` as finished after `seconds` of running, ending at `now`."""
    Job.objects.filter(pk=job.pk).update(
        status="completed", started_at=now - timedelta(seconds=seconds), finished_at=now
    )


# ---- progress ---------------------------------------------------------------------------


def test_an_image_job_moves_by_the_models_typical_time(alpha, alice):
    now = timezone.now()
    for seconds in (10, 12, 30):  # the median, 12 s, is the typical time per image
        done(make_job(alpha, alice), seconds, now)
    job = make_job(alpha, alice, status="processing", progress=5, started_at=now)
    assert progress.typical_seconds(job) == 12
    assert progress.estimate(job, now + timedelta(seconds=3)) == progress.Estimate(25, 9)
    assert progress.estimate(job, now + timedelta(seconds=9)) == progress.Estimate(75, 3)
    late = progress.estimate(job, now + timedelta(seconds=60))
    assert late == progress.Estimate(progress.CEILING, 0)  # never 100 before it ends


def test_the_typical_time_is_per_image_and_per_tier(alpha, alice):
    now = timezone.now()
    four = {"model": "gpt-image-2", "quality": "medium", "n": 4}
    done(make_job(alpha, alice, four), 20, now)  # 5 s per image at 1K
    job = make_job(alpha, alice, {**four, "n": 2}, status="processing", started_at=now)
    assert progress.typical_seconds(job) == 10
    big = make_job(alpha, alice, {**four, "size": "2048x2048"}, status="processing", started_at=now)
    first_guess = progress.FIRST_GUESS["image"] * 4  # no 2K history yet
    assert progress.typical_seconds(big) == first_guess


def test_a_video_trusts_the_providers_progress_once_it_is_ahead(alpha, alice):
    now = timezone.now()
    job = make_job(
        alpha,
        alice,
        {"model": "veo", "duration": 5},
        status="processing",
        started_at=now,
        progress=60,
    )
    estimate = progress.estimate(job, now + timedelta(seconds=6), typical=100)
    assert estimate == progress.Estimate(60, 4)  # 6 s for 60 %: 4 s for the rest


def test_a_queued_job_says_it_waits(client, alice, funded):
    runner.submit(
        workspace=funded, user=alice, kind="generate", request={"model": "nano-banana"}, prompt="x"
    )
    client.force_login(alice)
    assert b"Waiting for a worker" in client.get("/").content


def test_a_running_card_says_about_how_long_is_left(client, alice, funded):
    now = timezone.now()
    done(make_job(funded, alice), 20, now)
    make_job(funded, alice, status="processing", started_at=now - timedelta(seconds=5), progress=5)
    client.force_login(alice)
    html = client.get("/").content.decode()
    # 5 s of a typical 20 (the page took a moment to answer: a second of slack).
    assert re.search(r"About 1[45] s left", html)
    assert re.search(r'<progress class="progress" max="100" value="2[5-9]"', html)


# ---- more of the same ---------------------------------------------------------------------


def test_use_prompt_fills_the_composer_with_the_prompt_and_settings(alpha, alice):
    job = make_job(
        alpha, alice, {"model": "gpt-image-2", "quality": "low", "n": 3, "size": "1600x912"}
    )
    job.params = {"size": "1600x912"}
    url = urlsplit(iterate.use_prompt_url(job))
    assert url.path == "/"
    assert parse_qs(url.query) == {
        "prompt": ["a red bicycle"],
        "model": ["gpt-image-2"],
        "size": ["1600x912"],
        "quality": ["low"],
        "n": ["3"],
    }


def test_use_prompt_of_an_edit_brings_its_images_or_its_mask(alpha, alice, image):
    other = media.make_asset(
        media.store_image(png(), workspace_id=alpha.id),
        workspace=alpha,
        user=alice,
        made_by="upload",
    )
    job = make_job(
        alpha, alice, kind="edit", source_asset=image, inputs={"images": [other.file.name]}
    )
    query = parse_qs(urlsplit(iterate.use_prompt_url(job)).query)
    assert query["reference"] == [image.uid, other.uid]
    masked = make_job(alpha, alice, kind="edit", source_asset=image, inputs={"mask": "m.png"})
    assert iterate.use_prompt_url(masked).startswith(image.get_edit_url() + "?")


def test_use_prompt_of_a_video_opens_video_mode_or_the_animate_page(alpha, alice, image):
    video = {"model": "kling", "duration": 3, "size": "720x1280"}
    alone = parse_qs(urlsplit(iterate.use_prompt_url(make_job(alpha, alice, video))).query)
    assert (alone["mode"], alone["aspect"], alone["duration"]) == (["video"], ["9:16"], ["3"])
    from_image = iterate.use_prompt_url(make_job(alpha, alice, video, source_asset=image))
    assert from_image.startswith(image.get_animate_url() + "?")


def test_the_composer_opens_filled_from_a_use_prompt_link(client, alice, funded, image):
    client.force_login(alice)
    html = client.get(
        "/",
        {
            "prompt": "a kite",
            "model": "gpt-image-2",
            "quality": "low",
            "n": "3",
            "reference": image.uid,
        },
    ).content.decode()
    assert ">a kite</textarea>" in html
    assert 'value="gpt-image-2" checked' in html and 'value="low" checked' in html
    assert '<option value="3" selected>' in html
    assert f'name="reference" value="{image.uid}"' in html


def test_re_run_makes_the_same_job_again_at_its_price(client, alice, funded):
    job = runner.submit(
        workspace=funded,
        user=alice,
        kind="generate",
        request={"model": "gpt-image-2", "quality": "medium", "size": "16:9"},
        prompt="a kite",
    )
    runner.run_job(job.pk)
    client.force_login(alice)
    assert "Re-run · 4 credits" in client.get("/").content.decode()
    r = client.post(f"/jobs/{job.public_id}/retry/", HTTP_HX_REQUEST="true")
    assert r["HX-Retarget"] == "#jobs"
    again = Job.objects.get(retry_of=job)
    assert (again.params, again.prompt, again.credits_quoted) == (job.params, "a kite", D("4.00"))


def test_vary_makes_the_same_job_with_the_prompt_changed(client, alice, funded, image):
    job = runner.submit(
        workspace=funded,
        user=alice,
        kind="edit",
        request={"model": "nano-banana"},
        prompt="make it night",
        source_asset=image,
    )
    client.force_login(alice)
    r = client.post(
        f"/jobs/{job.public_id}/vary/", {"prompt": "make it dusk"}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 200
    new = Job.objects.exclude(pk=job.pk).get()
    assert (new.kind, new.source_asset, new.prompt, new.params) == (
        "edit",
        image,
        "make it dusk",
        job.params,
    )
    r = client.post(f"/jobs/{job.public_id}/vary/", {"prompt": " "}, HTTP_HX_REQUEST="true")
    assert b"Write a prompt" in r.content and Job.objects.count() == 2


# ---- cancel ----------------------------------------------------------------------------------


def test_cancel_is_offered_where_it_stops_the_job_and_explained_where_not(client, alice, funded):
    queued = make_job(funded, alice)
    # The local renderer can stop a running render; Pixapi documents no cancel.
    local = make_job(funded, alice, status="processing", started_at=timezone.now())
    upstream = make_job(
        funded, alice, status="processing", started_at=timezone.now(), provider="pixapi"
    )
    client.force_login(alice)
    html = client.get("/").content.decode()

    def card(job):
        return html.split(f'id="job-{job.public_id}"')[1].split("</article>")[0]

    assert "Cancel</button>" in card(queued)
    assert "Cancel</button>" in card(local) and "can't be stopped" not in card(local)
    assert "Cancel</button>" not in card(upstream) and "can't be stopped" in card(upstream)

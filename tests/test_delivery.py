"""Charges follow what was delivered, as we measured it in our own storage, not what the
upstream claims. Every job here runs through PixapiProvider against the fake Pixapi, a real
HTTP server on 127.0.0.1 (tests/fake_pixapi.py)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from studio.credits import ledger
from studio.credits.models import Reservation
from studio.generations import runner
from studio.generations.models import Asset, Job
from tests.fake_pixapi import API_KEY, mp4_bytes, png_bytes

D = Decimal


@pytest.fixture
def upstream(fake, settings, alpha):
    settings.STUDIO_PROVIDER = "pixapi"
    settings.PIXAPI_BASE_URL = fake.url
    settings.PIXAPI_API_KEY = API_KEY
    settings.PROVIDER_ALLOW_PRIVATE_URLS = True  # the fake serves its files on loopback
    ledger.grant(alpha, 100)
    return fake


def video(workspace, user, duration: int) -> Job:
    """A text-to-video Wan job at 720P: 2 credits per second."""
    job = runner.submit(
        workspace=workspace,
        user=user,
        kind="animate",
        request={"model": "wan", "duration": duration, "size": "1280x720"},
        prompt="waves at dusk",
    )
    assert runner.run_job(job.pk) == "processing"
    runner.poll_job(job.pk)  # the fake says "processing" first
    runner.poll_job(job.pk)  # ... then "completed"
    job.refresh_from_db()
    return job


def settlement(job):
    return Reservation.objects.get(job=job).settlement


def next_images_are(fake, *urls: str) -> None:
    """Make the next image generation answer with these URLs."""
    body = json.dumps({"created": 1, "data": [{"url": url} for url in urls]}).encode()
    fake.fail_next(
        "POST", "/v1/images/generations", (200, {"Content-Type": "application/json"}, body)
    )


def generate(workspace, user, **request) -> Job:
    job = runner.submit(
        workspace=workspace,
        user=user,
        kind="generate",
        request={"model": "nano-banana", "size": "1:1", **request},
        prompt="a lighthouse",
    )
    runner.run_job(job.pk)
    job.refresh_from_db()
    return job


def test_a_video_claiming_more_seconds_than_it_has_is_charged_for_what_it_has(
    upstream, alpha, alice
):
    upstream.deliver_video(mp4_bytes(2), claimed_duration=99)
    job = video(alpha, alice, duration=5)
    assert job.status == "completed"
    assert job.assets.get().duration == pytest.approx(2.0, abs=0.05)
    assert (settlement(job).captured, settlement(job).released) == (D("4.00"), D("6.00"))
    assert ledger.balance(alpha) == D("96.00")


def test_a_video_claiming_almost_nothing_is_charged_for_what_it_has(upstream, alpha, alice):
    upstream.deliver_video(mp4_bytes(2), claimed_duration=0.01)
    job = video(alpha, alice, duration=2)
    assert job.status == "completed"
    assert (settlement(job).captured, settlement(job).released) == (D("4.00"), D("0.00"))


def test_a_longer_video_than_reserved_is_charged_the_reservation(upstream, alpha, alice):
    upstream.deliver_video(mp4_bytes(2))
    job = video(alpha, alice, duration=1)
    assert job.status == "completed"
    assert settlement(job).captured == D("2.00")  # capped: 1 s was quoted and reserved


def test_a_video_job_that_receives_an_image_fails_and_costs_nothing(upstream, alpha, alice):
    upstream.deliver_video(png_bytes(64, 36), "video/mp4", claimed_duration=5)
    job = video(alpha, alice, duration=5)
    assert (job.status, job.error_code) == ("failed", "unsupported_media_type")
    assert job.error_params == {"expected": "video", "got": "image/png"}
    assert settlement(job).captured == D("0.00")
    assert ledger.balance(alpha) == D("100.00")
    assert not Asset.objects.exists()


def test_a_video_that_doesnt_decode_fails_and_costs_nothing(upstream, alpha, alice):
    upstream.deliver_video(mp4_bytes(1)[:200], claimed_duration=1)  # the head of an MP4 only
    job = video(alpha, alice, duration=1)
    assert (job.status, job.error_code) == ("failed", "bad_output")
    assert ledger.balance(alpha) == D("100.00")


def test_an_image_job_that_receives_a_video_fails_and_costs_nothing(upstream, alpha, alice):
    # An MP4 that says it is a PNG: its bytes tell.
    next_images_are(upstream, upstream.serve_file("clip.mp4", mp4_bytes(), "image/png"))
    job = generate(alpha, alice)
    assert (job.status, job.error_code) == ("failed", "unsupported_media_type")
    assert job.error_params == {"expected": "image", "got": "video/mp4"}
    assert settlement(job).captured == D("0.00")
    assert ledger.balance(alpha) == D("100.00")
    assert not Asset.objects.exists()


def test_images_are_charged_for_the_ones_stored_at_their_real_size(upstream, alpha, alice):
    """Asked for two, the upstream sends one, and at another size than asked: one is charged,
    and the asset records the size the file really has."""
    next_images_are(upstream, upstream.serve_file("one.png", png_bytes(320, 200), "image/png"))
    job = generate(alpha, alice, n=2)
    assert job.status == "completed"
    asset = Asset.objects.get(job=job)
    assert (asset.width, asset.height) == (320, 200)
    assert (settlement(job).captured, settlement(job).released) == (D("2.00"), D("2.00"))

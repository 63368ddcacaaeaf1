"""The studio's forms take a submission exactly as sent: what the form never offered is
refused with a message naming the field, never rewritten into something else and charged."""

from __future__ import annotations

from decimal import Decimal

import pytest

from studio.credits import ledger
from studio.front.forms import ImageForm, VideoForm
from studio.generations import media
from studio.generations.models import Job
from tests.test_api import png

D = Decimal


@pytest.fixture
def funded(alpha):
    ledger.grant(alpha, 500)
    return alpha


def submit(client, data):
    return client.post("/generate/", data, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize(
    ("tampered", "field"),
    [
        ({"n": "99"}, "n must be a whole number from 1 to 10"),
        ({"n": "lots"}, "n must be a whole number"),
        ({"size": "garbage"}, "doesn't offer the size 'garbage'"),
        ({"model": "nope"}, "There is no image model 'nope'"),
        ({"model": "veo"}, "There is no image model 'veo'"),
        ({"model": "gpt-image-2", "quality": "ultra"}, "not 'ultra'"),
        ({"model": "gemini-2.5-flash-image", "size": "4K"}, "doesn't offer the size '4K'"),
        ({"reference": "not-a-uid"}, "no longer in the gallery"),
    ],
)
def test_a_tampered_or_stale_form_is_refused_not_rewritten(client, alice, funded, tampered, field):
    client.force_login(alice)
    r = submit(client, {"prompt": "a kite", "model": "gemini-2.5-flash-image", **tampered})
    assert r.status_code == 200
    assert r["HX-Retarget"] == "#generate-feedback"
    assert field in r.content.decode().replace("&#x27;", "'")
    assert not Job.objects.exists()
    assert ledger.balance(funded) == D("500.00")


def test_a_video_form_is_refused_the_same_way(client, alice, funded):
    client.force_login(alice)
    for tampered in ({"duration": "99"}, {"aspect": "2:1"}, {"resolution": "8K"}):
        r = submit(client, {"mode": "video", "prompt": "waves", "model": "veo", **tampered})
        assert b"form-error" in r.content, tampered
    assert not Job.objects.exists()


def test_while_choosing_an_impossible_option_falls_back_to_one_on_offer():
    form = ImageForm.read({"model": "gpt-image-1.5", "size": "4K", "n": "99"})
    assert (form.size, form.n, form.error) == ("auto", 10, None)
    assert ImageForm.read({"model": "nope"}).model.id == "gemini-2.5-flash-image"


def test_ten_images_per_job_as_the_api_allows(client, alice, funded):
    client.force_login(alice)
    submit(client, {"prompt": "kites", "model": "gpt-image-2", "quality": "low", "n": "10"})
    job = Job.objects.get()
    assert (job.quote["n"], job.credits_quoted) == (10, D("10.00"))


@pytest.mark.parametrize(
    ("width", "height", "verdict"),
    [
        ("1600", "912", "2 credits"),  # 2K at low quality
        ("1000", "1000", "multiples of 16"),
        ("3840", "1024", "at most 3:1"),
        ("800", "800", "total pixels"),
    ],
)
def test_gpt_image_2_takes_a_custom_size_checked_as_it_is_typed(
    client, alice, funded, width, height, verdict
):
    client.force_login(alice)
    r = client.get(
        "/generate/options/",
        {
            "model": "gpt-image-2",
            "quality": "low",
            "size": "custom",
            "width": width,
            "height": height,
        },
        HTTP_HX_REQUEST="true",
    )
    assert verdict in r.content.decode()


def test_a_custom_size_in_a_link_opens_as_custom():
    form = ImageForm.read({"model": "gpt-image-2", "size": "1600x912"})
    assert (form.size, form.width, form.height) == ("custom", 1600, 912)
    assert form.request()["size"] == "1600x912"


def test_the_button_says_what_the_balance_lacks_before_the_click(client, alice, alpha):
    ledger.grant(alpha, D("201.60"))
    client.force_login(alice)
    r = client.get(
        "/generate/options/",
        {"model": "gpt-image-2", "quality": "high", "size": "3840x2160", "n": "2"},
        HTTP_HX_REQUEST="true",
    )
    html = r.content.decode()
    assert "Needs 266, you have 201.60 — " in html and ">add credits</a>" in html
    assert 'type="submit" disabled' in html
    assert ImageForm.read({}, balance=D("2")).shortfall is None


def test_reference_images_make_one_edit_through_the_edit_route(client, alice, funded):
    images = [
        media.make_asset(
            media.store_image(png(64, 48), workspace_id=funded.id),
            workspace=funded,
            user=alice,
            made_by="upload",
        )
        for _ in range(3)
    ]
    client.force_login(alice)
    r = submit(
        client,
        {
            "prompt": "put the three together",
            "model": "gemini-2.5-flash-image",
            "reference": [a.uid for a in images],
        },
    )
    assert r.status_code == 200
    job = Job.objects.get()
    assert (job.kind, job.endpoint, job.source_asset) == ("edit", "images.edits", images[0])
    assert job.inputs == {"images": [images[1].file.name, images[2].file.name]}
    assert b"and 2 more references" in r.content


def test_at_most_ten_reference_images(client, alice, funded):
    stored = [media.store_image(png(32, 32), workspace_id=funded.id) for _ in range(11)]
    images = [media.make_asset(s, workspace=funded, user=alice, made_by="upload") for s in stored]
    client.force_login(alice)
    r = submit(client, {"prompt": "x", "reference": [a.uid for a in images]})
    assert b"at most 10 reference images" in r.content
    assert not Job.objects.exists()


def test_a_reference_uploaded_with_the_form_joins_the_gallery(client, alice, funded):
    client.force_login(alice)
    upload = png(80, 60)
    submit(client, {"prompt": "make it night", "reference_file": upload})
    job = Job.objects.get()
    assert job.kind == "edit" and job.source_asset.made_by == "upload"
    assert (job.source_asset.width, job.source_asset.height) == (80, 60)


def test_references_uploaded_at_once_come_back_as_chips(client, alice, funded):
    client.force_login(alice)
    r = client.post(
        "/references/upload/",
        {"reference_file": [png(40, 30), png(30, 40)]},
        HTTP_HX_REQUEST="true",
    )
    assert r.content.count(b'name="reference"') == 2
    junk = png()
    junk.seek(0)
    junk = type(junk)(b"not an image")
    junk.name = "notes.txt"
    r = client.post("/references/upload/", {"reference_file": junk}, HTTP_HX_REQUEST="true")
    assert r["HX-Retarget"] == "#ref-feedback"
    assert b"notes.txt isn" in r.content


def test_the_picker_shows_only_this_workspaces_images(client, alice, funded, other, charlie):
    mine = media.make_asset(
        media.store_image(png(), workspace_id=funded.id),
        workspace=funded,
        user=alice,
        made_by="upload",
    )
    theirs = media.make_asset(
        media.store_image(png(), workspace_id=other.id),
        workspace=other,
        user=charlie,
        made_by="upload",
    )
    client.force_login(alice)
    html = client.get("/references/pick/").content.decode()
    assert mine.uid in html and theirs.uid not in html
    r = submit(client, {"prompt": "x", "reference": theirs.uid})
    assert b"no longer in the gallery" in r.content and not Job.objects.exists()


def test_a_video_from_a_prompt_alone(client, alice, funded):
    client.force_login(alice)
    r = submit(
        client,
        {
            "mode": "video",
            "prompt": "waves at dusk",
            "model": "kling",
            "duration": "2",
            "aspect": "9:16",
        },
    )
    assert r.status_code == 200
    job = Job.objects.get()
    assert (job.kind, job.source_asset, job.quote["size"]) == ("animate", None, "720x1280")
    assert job.credits_quoted == D("4.48")


def test_a_video_from_one_reference_image(client, alice, funded):
    image = media.make_asset(
        media.store_image(png(64, 36), workspace_id=funded.id),
        workspace=funded,
        user=alice,
        made_by="upload",
    )
    client.force_login(alice)
    submit(client, {"mode": "video", "prompt": "drift", "model": "veo", "reference": image.uid})
    job = Job.objects.get()
    assert job.source_asset == image and job.quote["size"] == "1280x720"  # the image's shape
    assert VideoForm.read({}, references=[image, image]).error.param == "reference"

"""The studio pages: bad input gets a clear message, never a 500; foreign ids are 404."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest

from studio.credits import ledger
from studio.generations import media, runner
from studio.generations.models import Asset, Job
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


@pytest.fixture
def foreign(other, charlie):
    stored = media.store_image(png(), workspace_id=other.id)
    return media.make_asset(stored, workspace=other, user=charlie, made_by="upload")


def test_the_cost_on_the_button_follows_the_options(client, alice, funded):
    client.force_login(alice)
    r = client.get(
        "/generate/options/",
        {"model": "gpt-image-2", "quality": "medium", "n": 3},
        HTTP_HX_REQUEST="true",
    )
    assert b"12 credits" in r.content
    r = client.get(
        "/generate/options/",
        {"model": "gemini-3-pro-image-preview", "size": "4K"},
        HTTP_HX_REQUEST="true",
    )
    assert b"16 credits" in r.content


@pytest.mark.parametrize(
    "junk",
    [
        {"model": "nope", "size": "banana", "n": "lots", "quality": "ultra"},
        {"model": "veo"},
        {"n": "-5"},
    ],
)
def test_junk_options_fall_back_to_what_the_model_offers(client, alice, funded, junk):
    client.force_login(alice)
    r = client.get("/generate/options/", junk, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert b"credits" in r.content


def test_generate_shows_the_card_and_queues_the_job(client, alice, funded):
    client.force_login(alice)
    r = client.post(
        "/generate/",
        {"prompt": "a kite", "model": "nano-banana", "size": "1:1"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    job = Job.objects.get()
    assert f'id="job-{job.public_id}"' in r.content.decode()
    assert b"data-active" in r.content  # the page's poller follows it
    assert b'id="balance-pill"' in r.content and b"98" in r.content


def test_an_empty_prompt_is_a_message_not_a_job(client, alice, funded):
    client.force_login(alice)
    r = client.post("/generate/", {"prompt": " ", "model": "nano-banana"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    assert r["HX-Retarget"] == "#generate-feedback"
    assert b"Write a prompt" in r.content
    assert not Job.objects.exists()


def test_too_few_credits_links_to_the_usage_page(client, alice, alpha):
    ledger.grant(alpha, 1)
    client.force_login(alice)
    r = client.post("/generate/", {"prompt": "x", "model": "gpt-image-2"}, HTTP_HX_REQUEST="true")
    assert b"needs 14.00 credits and the workspace has 1.00" in r.content
    assert b'href="/usage/"' in r.content
    assert not Job.objects.exists()


def test_one_poll_answers_for_every_running_card_of_the_page(client, alice, funded):
    client.force_login(alice)
    jobs = [
        runner.submit(
            workspace=funded,
            user=alice,
            kind="generate",
            request={"model": "nano-banana"},
            prompt=f"a kite {i}",
        )
        for i in range(3)
    ]
    ids = [f"id={job.public_id}" for job in jobs]
    r = client.get("/jobs/poll/?" + "&".join(ids), HTTP_HX_REQUEST="true")
    assert r.content.count(b"data-active") == 3
    assert "HX-Trigger" not in r  # nothing ended: the balance can't have moved
    runner.run_job(jobs[0].pk)
    r = client.get("/jobs/poll/?" + "&".join(ids), HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert html.count("data-active") == 2
    assert "Charged 2 credits" in html
    assert html.count('id="balance-pill"') == 1 and "studio:refresh" in r["HX-Trigger"]


def test_a_poll_never_answers_for_another_workspaces_job(client, alice, funded, other, charlie):
    ledger.grant(other, 10)
    theirs = runner.submit(
        workspace=other, user=charlie, kind="generate", request={"model": "nano-banana"}, prompt="x"
    )
    client.force_login(alice)
    r = client.get(f"/jobs/poll/?id={theirs.public_id}", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and theirs.public_id.encode() not in r.content


def test_viewers_cannot_create(client, make_user, funded):
    from studio.accounts.models import Membership

    viewer = make_user("vic")
    Membership.objects.create(user=viewer, workspace=funded, role="viewer")
    client.force_login(viewer)
    assert client.post("/generate/", {"prompt": "x"}).status_code == 403
    assert client.get("/").status_code == 200
    assert not Job.objects.exists()


def test_cancel_and_retry_from_the_card(client, alice, funded):
    client.force_login(alice)
    job = runner.submit(
        workspace=funded,
        user=alice,
        kind="generate",
        request={"model": "nano-banana"},
        prompt="a kite",
    )
    r = client.post(f"/jobs/{job.public_id}/cancel/", HTTP_HX_REQUEST="true")
    assert b"Cancelled" in r.content
    assert ledger.balance(funded) == D("100.00")
    r = client.post(f"/jobs/{job.public_id}/retry/", HTTP_HX_REQUEST="true")
    assert r["HX-Retarget"] == "#jobs"
    assert Job.objects.filter(retry_of=job).exists()


def test_a_failed_cards_reason_is_written_from_its_code_when_shown(client, alice, funded):
    from django.utils import timezone
    from django.utils.html import escape

    job = runner.submit(
        workspace=funded,
        user=alice,
        kind="generate",
        request={"model": "nano-banana"},
        prompt="a kite",
    )
    assert job.time_out(timezone.now())
    assert (job.error_code, job.error_params) == (
        "timeout",
        {"model": "gemini-2.5-flash-image", "minutes": 5},
    )
    client.force_login(alice)
    r = client.get(f"/jobs/poll/?id={job.public_id}", HTTP_HX_REQUEST="true")
    assert escape(job.failure) in r.content.decode()


def test_other_workspaces_jobs_and_assets_are_404(client, alice, funded, foreign, other, charlie):
    ledger.grant(other, 10)
    theirs = runner.submit(
        workspace=other,
        user=charlie,
        kind="generate",
        request={"model": "nano-banana"},
        prompt="secret",
    )
    client.force_login(alice)
    for path in (
        f"/assets/{foreign.uid}/",
        f"/assets/{foreign.uid}/edit/",
        f"/assets/{foreign.uid}/animate/",
    ):
        assert client.get(path).status_code == 404, path
    for path in (
        f"/jobs/{theirs.public_id}/cancel/",
        f"/jobs/{theirs.public_id}/retry/",
        f"/jobs/{theirs.public_id}/vary/",
        f"/assets/{foreign.uid}/edit/tool/",
        f"/assets/{foreign.uid}/animate/go/",
        f"/assets/{foreign.uid}/delete/",
    ):
        assert client.post(path, {"tool": "rotate", "prompt": "x"}).status_code == 404, path
    assert Job.objects.get(pk=theirs.pk).status == "queued"
    assert b"secret" not in client.get("/").content
    assert foreign.uid.encode() not in client.get("/gallery/").content


@pytest.mark.parametrize(
    ("tool", "params", "size"),
    [
        ("crop", {"aspect": "16:9"}, (320, 180)),
        ("crop", {"aspect": "1:1", "x": "10", "y": "20", "w": "100", "h": "100"}, (100, 100)),
        ("crop", {"aspect": "free", "x": "0", "y": "0", "w": "64", "h": "48"}, (64, 48)),
        ("resize", {"width": "160"}, (160, 120)),
        ("rotate", {"angle": "90"}, (240, 320)),
        ("flip", {"direction": "vertical"}, (320, 240)),
        ("adjust", {"brightness": "20", "saturation": "-50"}, (320, 240)),
    ],
)
def test_free_tools_make_a_child_asset_and_cost_nothing(client, alice, image, tool, params, size):
    client.force_login(alice)
    r = client.post(f"/assets/{image.uid}/edit/tool/", {"tool": tool, **params})
    assert r.status_code == 302
    child = Asset.objects.get(parent=image)
    assert (child.width, child.height, child.made_by) == (*size, tool)
    assert ledger.balance(image.workspace) == D("100.00")


@pytest.mark.parametrize(
    "params",
    [
        {"tool": "explode"},
        {"tool": "crop", "aspect": "free"},
        {"tool": "crop", "aspect": "3:7"},
        {"tool": "crop", "aspect": "free", "x": "300", "y": "0", "w": "100", "h": "100"},
        {"tool": "crop", "aspect": "free", "x": "a", "y": "0", "w": "100", "h": "100"},
        {"tool": "resize", "width": "99999"},
        {"tool": "resize"},
        {"tool": "rotate", "angle": "45"},
        {"tool": "flip", "direction": "diagonal"},
        {"tool": "adjust"},
        {"tool": "adjust", "brightness": "500"},
    ],
)
def test_bad_tool_input_is_a_message_not_a_500(client, alice, image, params):
    client.force_login(alice)
    r = client.post(f"/assets/{image.uid}/edit/tool/", params, follow=True)
    assert r.status_code == 200
    assert b"flash-error" in r.content
    assert not Asset.objects.filter(parent=image).exists()


def test_an_ai_edit_with_a_bad_mask_is_a_message(client, alice, image):
    client.force_login(alice)
    r = client.post(
        f"/assets/{image.uid}/edit/ai/",
        {"prompt": "x", "mask": "data:image/png;base64,!!!"},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and b"mask" in r.content
    r = client.post(
        f"/assets/{image.uid}/edit/ai/",
        {"prompt": "x", "mask": "data:image/png;base64,aGVsbG8="},
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200 and b"form-error" in r.content
    assert not Job.objects.exists()


def test_animate_prices_and_submits_from_an_image(client, alice, image):
    client.force_login(alice)
    r = client.get(
        f"/assets/{image.uid}/animate/options/",
        {"model": "kling", "duration": "5", "aspect": "16:9"},
        HTTP_HX_REQUEST="true",
    )
    assert b"11.20 credits" in r.content
    r = client.post(
        f"/assets/{image.uid}/animate/go/",
        {
            "prompt": "waves",
            "model": "veo",
            "quality": "fast",
            "duration": "3",
            "aspect": "9:16",
            "resolution": "1080P",
        },
        HTTP_HX_REQUEST="true",
    )
    assert r.status_code == 200
    job = Job.objects.get()
    assert (job.kind, job.quote["size"], job.credits_quoted) == ("animate", "1080x1920", D("7.20"))
    assert job.source_asset == image


def test_uploads_must_be_images(client, alice, funded):
    import io

    client.force_login(alice)
    junk = io.BytesIO(b"%PDF-1.4")
    junk.name = "doc.pdf"
    r = client.post("/gallery/upload/", {"image": junk}, follow=True)
    page = html.unescape(r.content.decode())
    assert "doc.pdf isn't an image we can read: upload a PNG, JPEG or WebP file." in page
    assert "UnidentifiedImageError" not in page
    r = client.post("/gallery/upload/", {"image": png()})
    assert r.status_code == 302
    assert Asset.objects.get().made_by == "upload"


def test_the_gallery_filters(client, alice, image):
    client.force_login(alice)
    assert image.uid.encode() in client.get("/gallery/?kind=image").content
    assert image.uid.encode() not in client.get("/gallery/?kind=video").content
    r = client.get("/gallery/?q=nothing-like-this", HTTP_HX_REQUEST="true")
    assert b"Nothing matches" in r.content


def test_the_usage_page_matches_the_ledger(client, alice, bob, funded):
    for user in (alice, bob):
        job = runner.submit(
            workspace=funded,
            user=user,
            kind="generate",
            request={"model": "gpt-image-2", "quality": "medium"},
            prompt="x",
        )
        runner.run_job(job.pk)
    client.force_login(alice)
    html = client.get("/usage/").content.decode()
    assert ">92<" in html.replace(" <small>", "<")  # the balance
    assert "<b>92</b> credits expire on" in html
    r = client.get("/usage/export.csv")
    lines = b"".join(r.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("job,created_at,member")
    assert len(lines) == 3 and all(",4.00,4.00,0.00," in line for line in lines[1:])


def test_a_member_sees_only_their_own_usage(client, alice, bob, funded):
    for user in (alice, bob):
        runner.run_job(
            runner.submit(
                workspace=funded,
                user=user,
                kind="generate",
                request={"model": "nano-banana"},
                prompt="x",
            ).pk
        )
    client.force_login(bob)
    r = client.get("/usage/export.csv?member=" + str(alice.id))
    rows = b"".join(r.streaming_content).decode().strip().splitlines()[1:]
    assert len(rows) == 1 and ",bob," in rows[0]
    assert b"Every member" not in client.get("/usage/").content


def test_redeeming_a_code_on_the_usage_page(client, alice, funded):
    from studio.credits.models import Pack, RedemptionCode

    code = RedemptionCode.objects.create(pack=Pack.objects.create(name="P", credits=50))
    client.force_login(alice)
    r = client.post("/usage/redeem/", {"code": code.code}, follow=True)
    assert b"Added 50.00 credits" in r.content
    r = client.post("/usage/redeem/", {"code": code.code}, follow=True)
    assert b"already been used" in r.content
    assert ledger.balance(funded) == D("150.00")


def test_api_keys_are_shown_once_and_revocable(client, alice, bob, funded):
    from studio.accounts.models import ApiKey

    client.force_login(bob)
    r = client.post("/keys/", {"name": "ci", "allowed_models": ["veo"], "credit_cap": "50"})
    assert r.status_code == 302 and r["Location"] == "/keys/"  # reloading can't make another
    key = ApiKey.objects.get()
    raw = client.get("/keys/").content.decode().split('id="new-key">')[1].split("<")[0]
    assert ApiKey.objects.for_token(raw) == key
    assert raw not in client.get("/keys/").content.decode()  # shown once
    assert ApiKey.objects.count() == 1
    client.force_login(alice)  # an owner sees and may revoke every key
    assert b"ci" in client.get("/keys/").content
    client.post(f"/keys/{key.pk}/revoke/")
    assert ApiKey.objects.for_token(raw) is None


def test_a_past_expiry_for_a_new_key_is_a_form_error(client, alice, funded):
    client.force_login(alice)
    r = client.post("/keys/", {"name": "x", "expires_on": "2020-01-01"})
    assert b"Pick a day after today" in r.content

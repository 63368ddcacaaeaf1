"""Compatibility against a live server: the OpenAI SDK, the upstream docs' curl examples,
the OpenAPI document, and the studio's own Pixapi client driving a second studio."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
from decimal import Decimal

import httpx
import openai
import pytest
from PIL import Image

from studio.accounts.models import ApiKey, Membership, Workspace
from studio.credits import ledger
from studio.generations import runner
from studio.generations.models import Asset, Job
from studio.providers.base import reset_providers
from tests.conftest import Worker, worker_env

D = Decimal


def png_bytes(color=(30, 120, 200), size=(96, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def account(transactional_db, alice, alpha):
    ledger.grant(alpha, 200)
    _, raw = ApiKey.create(user=alice, workspace=alpha, name="compat")
    return raw


@pytest.fixture
def sdk(live_server, account):
    return openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=account, max_retries=0, timeout=60
    )


def fetch_image(url: str) -> Image.Image:
    r = httpx.get(url, timeout=10)
    assert r.status_code == 200
    return Image.open(io.BytesIO(r.content))


# ---- the OpenAI SDK ------------------------------------------------------------------------


def test_the_openai_sdk_generates(sdk, alpha):
    img = sdk.images.generate(model="gpt-image-2", prompt="a red bicycle", size="1024x1024")
    assert fetch_image(img.data[0].url).size == (1024, 1024)
    assert ledger.balance(alpha) == D("186.00")  # 14: auto bills as high


def test_the_openai_sdk_edits_one_image_and_several(sdk, alpha):
    one = sdk.images.edit(
        model="nano-banana", image=("in.png", png_bytes(), "image/png"), prompt="make it night"
    )
    assert fetch_image(one.data[0].url).mode in ("RGB", "RGBA")
    several = sdk.images.edit(
        model="nano-banana",
        prompt="make it warmer",
        image=[("a.png", png_bytes(), "image/png"), ("b.png", png_bytes((200, 0, 0)), "image/png")],
    )
    assert len(several.data) == 1
    edit = Job.objects.filter(kind="edit").order_by("-id").first()
    assert len(edit.inputs["images"]) == 1  # the second image came as image[]


def test_the_openai_sdk_reads_our_errors(sdk, live_server):
    with pytest.raises(openai.NotFoundError) as info:
        sdk.images.generate(model="dall-e-9", prompt="x")
    assert info.value.code == "model_not_found"
    assert info.value.request_id and info.value.request_id.startswith("req_")
    with pytest.raises(openai.BadRequestError) as info:
        sdk.images.generate(model="nano-banana", prompt="x", size="9000x9000")
    assert info.value.param == "size"
    bad = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key="sk_nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.images.generate(model="nano-banana", prompt="x")


@pytest.mark.slow  # waits the Retry-After it is testing
def test_the_openai_sdk_waits_retry_after_on_a_503(live_server, account, settings, caplog, alpha):
    """A 503 carried no Retry-After, so the SDK retried at once (issue 14, 7)."""
    settings.LOCAL_PROVIDER_FAIL_RATE = 1.0  # the model is down
    client = openai.OpenAI(base_url=f"{live_server.url}/v1", api_key=account, max_retries=1)
    with caplog.at_level("INFO", logger="openai"), pytest.raises(openai.InternalServerError):
        client.images.generate(model="nano-banana", prompt="a kite")
    assert "/images/generations in 2.000000 seconds" in caplog.text
    assert Job.objects.filter(status="failed").count() == 2
    assert ledger.balance(alpha) == D("200.00")  # neither try cost anything


# ---- the upstream docs' curl examples, base URL changed ------------------------------------


def curl(*args: str) -> dict:
    result = subprocess.run(
        ["curl", "-sS", *args], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
@pytest.mark.slow
def test_the_upstream_docs_curl_examples_run_unchanged(live_server, account, worker):
    base = f"{live_server.url}/v1"
    # The Nano Banana example.
    image = curl(
        f"{base}/images/generations",
        "-H",
        f"Authorization: Bearer {account}",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"model": "nano-banana", "prompt": "A clean product hero image for a '
        'developer API platform", "n": 1, "size": "1024x1024"}',
    )
    assert image["data"][0]["url"]
    # The video example, then polling the task until it ends.
    task = curl(
        f"{base}/async/videos/generations",
        "-H",
        f"Authorization: Bearer {account}",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"model": "veo", "prompt": "A cinematic reveal of a smart speaker", '
        '"duration": 5, "size": "1280x720"}',
    )
    assert task["status"] == "submitted" and task["model"] == "veo"
    deadline = time.monotonic() + 90
    while task["status"] not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(1)
        task = curl(f"{base}/tasks/{task['id']}", "-H", f"Authorization: Bearer {account}")
    assert task["status"] == "completed", task
    assert task["usage"]["credits"] == "5.00"
    head = httpx.get(task["result"]["data"][0]["url"], headers={"Range": "bytes=0-11"})
    assert head.status_code == 206 and head.content[4:8] == b"ftyp"


# ---- the studio's own Pixapi client, pointed at a second studio ----------------------------


@pytest.mark.slow
def test_the_pixapi_provider_drives_a_second_studio(
    live_server, settings, tmp_path, alice, alpha, django_user_model
):
    """This studio (provider=pixapi) → HTTP → a second studio instance (provider=local).

    Both share one database here, as two deployments of the same code would not, but they
    talk only over HTTP: the downstream's jobs are made by PixapiProvider calls to the
    upstream's /v1, and the media it keeps are copies it downloaded.
    """
    upstream_owner = django_user_model.objects.create_user("upstream")
    upstream = Workspace.objects.create(name="Upstream")
    Membership.objects.create(user=upstream_owner, workspace=upstream, role="owner")
    ledger.grant(upstream, 100)
    _, upstream_key = ApiKey.create(user=upstream_owner, workspace=upstream, name="studio")
    ledger.grant(alpha, 100)
    chain = {
        "PIXAPI_BASE_URL": live_server.url,
        "PIXAPI_API_KEY": upstream_key,
        "STUDIO_PUBLIC_URL": live_server.url,
        "PROVIDER_ALLOW_PRIVATE_URLS": "true",
    }
    for name, value in chain.items():
        setattr(settings, name, True if value == "true" else value)
    # One worker serves both: a job's own `provider` says which way it goes.
    worker = Worker(worker_env(settings, tmp_path, **chain), tmp_path / "worker.log").start()

    def submit(**kwargs):
        # The upstream studio is the live server in this process, so only the downstream's
        # submits may see STUDIO_PROVIDER=pixapi; the upstream's jobs stay local.
        settings.STUDIO_PROVIDER = "pixapi"
        reset_providers()
        try:
            return runner.submit(workspace=alpha, user=alice, **kwargs)
        finally:
            settings.STUDIO_PROVIDER = "local"
            reset_providers()

    try:

        def finished(job):
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.is_final:
                    return job
                runner.nudge(job)
                time.sleep(0.5)
            raise AssertionError(worker.log_path.read_text()[-3000:])

        generated = finished(
            submit(
                kind="generate",
                prompt="a lighthouse",
                request={"model": "nano-banana", "size": "1:1"},
            )
        )
        assert generated.status == "completed", generated.failure
        image = generated.assets.get()
        edited = finished(
            submit(
                kind="edit",
                prompt="make it black and white",
                request={"model": "nano-banana", "size": "1:1"},
                source_asset=image,
            )
        )
        assert edited.status == "completed", edited.failure
        video = finished(
            submit(
                kind="animate",
                prompt="slow push-in",
                request={"model": "veo", "duration": 2, "size": "16:9"},
                source_asset=edited.assets.get(),
            )
        )
        assert video.status == "completed", video.failure
    finally:
        worker.stop()
    assert {j.provider for j in (generated, edited, video)} == {"pixapi"}
    clip = video.assets.get()
    assert (clip.kind, clip.width, clip.height) == ("video", 1280, 720)
    assert clip.duration == pytest.approx(2, abs=0.05)
    # Downstream paid its own prices; upstream charged its key the same for the same work.
    assert ledger.balance(alpha) == D("100") - D("2") - D("2") - D("2")
    assert ledger.balance(upstream) == D("100") - D("2") - D("2") - D("2")
    upstream_jobs = Job.objects.filter(workspace=upstream)
    assert sorted(upstream_jobs.values_list("kind", flat=True)) == ["animate", "edit", "generate"]
    assert set(upstream_jobs.values_list("source", flat=True)) == {"api"}
    # The downstream keeps its own copies, never the upstream's URLs.
    for asset in Asset.objects.filter(workspace=alpha, job__isnull=False):
        assert asset.file.name.startswith(f"assets/{alpha.id}/")

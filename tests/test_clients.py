"""The clients teams really use, each called the way its own docs show, against the studio as
`make run` serves it (gunicorn, tests/conftest.py): the openai SDKs (Python sync and async,
Node), the Vercel AI SDK (`ai` with `@ai-sdk/openai` and `@ai-sdk/openai-compatible`),
LiteLLM, and curl sending chunked bodies.

Every call here failed before this file existed (issue 14): each test names the failure it
closes. The Node clients run as one `node` process per script (tests/clients/*.mjs), which
reports what each of its calls did.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import openai
import pytest
from PIL import Image

from studio.accounts.models import ApiKey
from studio.credits import ledger
from studio.generations.models import Asset, Job

# LiteLLM fetches a price list from the internet when imported unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

CLIENTS = Path(__file__).resolve().parent / "clients"
D = Decimal


def png(size=(96, 64), colour=(30, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def key(transactional_db, settings, studio, alice, alpha):
    """A key of alice's, with 500 credits in Alpha; the test reads the server's media."""
    settings.MEDIA_ROOT = studio.media
    ledger.grant(alpha, 500)
    _, raw = ApiKey.create(user=alice, workspace=alpha, name="clients")
    return raw


@pytest.fixture
def client(studio, key):
    return openai.OpenAI(base_url=f"{studio.url}/v1", api_key=key, max_retries=0, timeout=120)


def image_of(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def spent(workspace) -> Decimal:
    return D("500") - ledger.balance(workspace)


# ---- the openai Python SDK -------------------------------------------------------------------


def test_gpt_image_generations_answer_base64_as_openai_does(client, alpha):
    """Clients written for OpenAI read b64_json for GPT image models (issue 14, 1)."""
    r = client.images.generate(model="gpt-image-2", prompt="a red bicycle", quality="low")
    assert image_of(r.data[0].b64_json).size == (1024, 1024)
    assert r.data[0].url.startswith("http://127.0.0.1")
    assert r.usage.input_tokens == 0 and r.usage.total_tokens == 0
    assert r.usage.model_extra["credits"] == "1.00"
    assert spent(alpha) == D("1.00")


def test_edits_answer_base64_and_a_url(client):
    r = client.images.edit(
        model="nano-banana", image=("in.png", png(), "image/png"), prompt="make it night"
    )
    assert image_of(r.data[0].b64_json).format == "PNG"
    assert httpx.get(r.data[0].url).status_code == 200


def test_an_explicit_response_format_gets_exactly_that(client):
    r = client.images.generate(
        model="gpt-image-2", prompt="x", quality="low", response_format="url"
    )
    assert r.data[0].url and r.data[0].b64_json is None
    r = client.images.generate(model="nano-banana", prompt="x", response_format="b64_json")
    assert r.data[0].b64_json and r.data[0].url is None
    r = client.images.generate(model="nano-banana", prompt="x")  # Gemini: the upstream's url
    assert r.data[0].url and r.data[0].b64_json is None


def test_openai_image_parameters_are_honoured(client, alpha):
    """output_format, output_compression, background, moderation, style and quality=standard
    were refused as unknown fields (issue 14, 4)."""
    r = client.images.generate(
        model="gpt-image-2",
        prompt="a red bicycle",
        quality="standard",  # medium on GPT models
        output_format="jpeg",
        output_compression=40,
        background="opaque",
        moderation="low",
        style="vivid",
    )
    assert image_of(r.data[0].b64_json).format == "JPEG"
    job = Job.objects.get()
    assert job.quote["quality"] == "medium" and job.credits_quoted == D("4.00")
    stored = job.assets.get()
    assert stored.content_type == "image/jpeg" and stored.file.name.endswith(".jpg")
    served = httpx.get(r.data[0].url)
    assert served.headers["content-type"] == "image/jpeg"


def test_a_transparent_background_is_transparent(client):
    r = client.images.generate(
        model="gpt-image-2", prompt="a red bicycle", quality="low", background="transparent"
    )
    picture = image_of(r.data[0].b64_json)
    assert picture.format == "PNG" and picture.mode == "RGBA"
    assert picture.getpixel((0, 0))[3] == 0  # the sky is gone
    assert picture.getchannel("A").getextrema() == (0, 255)  # the bicycle is not


def test_streaming_is_refused_clearly(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="gpt-image-2", prompt="x", stream=True)
    assert "Streaming is not offered" in info.value.message and info.value.param == "stream"
    assert not Job.objects.exists()


def test_a_size_too_small_names_the_minimum(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="gpt-image-2", prompt="x", size="256x256")
    message = info.value.message
    assert "too small" in message and "655,360" in message and "1024x1024" in message


def test_models_retrieve_answers_aliases_with_their_canonical_entry(client):
    """There was no GET /v1/models/{id} (issue 14, 5)."""
    assert client.models.retrieve("gpt-image-2").id == "gpt-image-2"
    assert client.models.retrieve("nano-banana").id == "gemini-2.5-flash-image"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("dall-e-9")


def test_the_credit_tables_model_ids_are_models(client, alpha):
    """gemini-3.1-flash-image-preview-2k and friends were model_not_found (issue 14, 6)."""
    r = client.images.generate(model="gemini-3.1-flash-image-preview-2k", prompt="a lighthouse")
    assert Image.open(io.BytesIO(httpx.get(r.data[0].url).content)).size == (2048, 2048)
    job = Job.objects.get()
    assert (job.model, job.quote["tier"], job.quote["size"]) == (
        "gemini-3.1-flash-image-preview",
        "2K",
        "2048x2048",
    )
    assert spent(alpha) == D("6.00")
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="gemini-3-pro-image-preview-4k", prompt="x", size="1024x1024")
    assert info.value.param == "size"


def test_the_async_sdk_generates_and_edits(studio, key):
    async def main():
        client = openai.AsyncOpenAI(base_url=f"{studio.url}/v1", api_key=key, max_retries=0)
        generated, edited, model = await asyncio.gather(
            client.images.generate(model="gpt-image-1.5", prompt="a kite", quality="low"),
            client.images.edit(
                model="gpt-image-2",
                image=("in.png", png(), "image/png"),
                prompt="make it night",
                quality="low",
                input_fidelity="high",
            ),
            client.models.retrieve("veo"),
        )
        await client.close()
        return generated, edited, model

    # On a thread of its own: the browser tests' Playwright may hold this thread's loop.
    with ThreadPoolExecutor(1) as pool:
        generated, edited, model = pool.submit(asyncio.run, main()).result()
    assert image_of(generated.data[0].b64_json).size == (1024, 1024)
    assert image_of(edited.data[0].b64_json).format == "PNG"
    assert model.id == "veo"


@pytest.mark.slow
def test_the_sdk_makes_a_video_with_the_videos_api(client, studio_worker, alpha):
    """client.videos.create had no route to call (issue 14, 9)."""
    video = client.videos.create_and_poll(
        model="veo", prompt="waves at dusk", seconds="2", size="1280x720", poll_interval_ms=300
    )
    assert (video.status, video.seconds, video.size, video.progress) == (
        "completed",
        "2",
        "1280x720",
        100,
    )
    content = client.videos.download_content(video.id)
    assert content.read()[4:8] == b"ftyp"
    assert video.id in [v.id for v in client.videos.list()]
    assert spent(alpha) == D("2.00")  # veo lite, 720P: 1 credit a second
    assert client.videos.delete(video.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(video.id)


# ---- LiteLLM ---------------------------------------------------------------------------------


@pytest.fixture
def litellm_args(studio, key):
    return {"api_base": f"{studio.url}/v1", "api_key": key}


def test_litellm_image_generation(litellm_args):
    import litellm

    r = litellm.image_generation(
        model="openai/gpt-image-2", prompt="a red bicycle", quality="low", **litellm_args
    )
    assert image_of(r.data[0].b64_json).size == (1024, 1024)
    assert r.usage.input_tokens == 0


@pytest.mark.parametrize(
    "model", ["gpt-image-2", "gpt-image-1.5", "nano-banana", "nano-banana-pro"]
)
def test_litellm_image_edit(litellm_args, model, alpha):
    """4 of 4 failed on `usage.input_tokens Field required`, each charged (issue 14, 2)."""
    import litellm

    r = litellm.image_edit(
        model=f"openai/{model}", image=io.BytesIO(png()), prompt="make it night", **litellm_args
    )
    assert image_of(r.data[0].b64_json).format == "PNG"
    assert Job.objects.get().status == "completed"


@pytest.mark.slow
def test_litellm_video_generation_and_status(litellm_args, studio_worker):
    import time

    import litellm

    video = litellm.video_generation(
        model="openai/wan",
        prompt="a lighthouse at night",
        seconds="2",
        size="1280x720",
        **litellm_args,
    )
    assert video.status == "queued"
    deadline = time.monotonic() + 120
    while video.status not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        video = litellm.video_status(video_id=video.id, **litellm_args)
    assert video.status == "completed", video
    content = litellm.video_content(video_id=video.id, **litellm_args)
    assert content[4:8] == b"ftyp"
    assert Asset.objects.get(kind="video").duration == pytest.approx(2, abs=0.05)


# ---- Node: the openai SDK and the Vercel AI SDK ----------------------------------------------


def run_node(script: str, studio, key, tmp_path) -> dict:
    """Run tests/clients/<script> against the studio; return what each of its calls did."""
    image = tmp_path / "in.png"
    image.write_bytes(png((128, 96)))
    result = subprocess.run(
        ["node", script],
        cwd=CLIENTS,
        env={**os.environ, "STUDIO_URL": studio.url, "STUDIO_KEY": key, "IMAGE_PATH": str(image)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def failed(results: dict) -> dict:
    return {name: r for name, r in results.items() if not r["ok"]}


needs_node = pytest.mark.skipif(
    not (CLIENTS / "node_modules").is_dir() or not shutil.which("node"),
    reason="the Node clients are installed by `make test` (npm ci in tests/clients)",
)


@needs_node
def test_the_openai_node_sdk(studio, key, tmp_path, alpha):
    """images.edit({image: fs.createReadStream(path)}) sent a chunked body that was read as
    empty (issue 14, 3); GPT images had no b64_json; models.retrieve was a 404."""
    results = run_node("openai-images.mjs", studio, key, tmp_path)
    assert failed(results) == {}
    assert results["images.generate gpt-image-2"] == {"ok": True, "b64": "png", "url": True}
    assert results["images.generate output_format=jpeg"]["b64"] == "jpeg"
    assert results["images.edit createReadStream"] == {"ok": True, "b64": "png", "url": True}
    assert results["images.edit toFile"]["b64"] == "png"
    assert results["models.retrieve"]["id"] == "gemini-3.1-flash-image-preview"
    assert results["images.generate stream=true"]["refused"] == 400
    # Every image call that answered was charged once; the refused one not at all.
    assert Job.objects.filter(status="completed").count() == 4
    assert spent(alpha) == D("1") + D("1") + D("2") + D("1")


@needs_node
@pytest.mark.slow
def test_the_openai_node_sdk_makes_videos(studio, studio_worker, key, tmp_path, alpha):
    results = run_node("openai-videos.mjs", studio, key, tmp_path)
    assert failed(results) == {}
    assert results["videos.create"]["status"] == "queued"
    assert results["videos.retrieve until completed"]["status"] == "completed"
    assert results["videos.downloadContent"]["kind"] == "mp4"
    assert results["videos.downloadContent thumbnail"]["kind"] == "jpeg"
    assert results["videos.list"]["listed"] is True
    assert results["videos.create input_reference createReadStream"]["status"] == "completed"
    assert results["videos.delete"] == {"ok": True, "deleted": True, "object": "video.deleted"}
    assert spent(alpha) == D("2.00") + D("2.24")  # veo lite 2 s, kling 1 s


@needs_node
def test_the_vercel_ai_sdk(studio, key, tmp_path, alpha):
    """createOpenAI(...).image("gpt-image-2") and every edit failed on `data,0,b64_json
    expected string` after being charged (issue 14, 1)."""
    results = run_node("ai-sdk.mjs", studio, key, tmp_path)
    assert failed(results) == {}
    assert results["openai generate gpt-image-2"]["kind"] == "png"
    assert results["openai generate webp transparent"]["kind"] == "webp"
    assert {r["kind"] for r in results.values()} <= {"png", "webp"}
    assert Job.objects.filter(status="completed").count() == len(results)


# ---- curl: chunked request bodies ------------------------------------------------------------


def curl(*args: str) -> tuple[int, dict]:
    result = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body)


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_chunked_json_and_multipart_bodies_are_read(studio, key, tmp_path):
    """Bodies sent with Transfer-Encoding: chunked were read as empty (issue 14, 3)."""
    auth = f"Authorization: Bearer {key}"
    chunked = "Transfer-Encoding: chunked"
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"model": "nano-banana", "prompt": "a kite", "size": "512"}))
    status, answer = curl(
        f"{studio.url}/v1/images/generations",
        *("-H", auth, "-H", chunked, "-H", "Content-Type: application/json"),
        *("--data-binary", f"@{body}"),
    )
    assert status == 200, answer
    image = tmp_path / "in.png"
    image.write_bytes(png())
    status, answer = curl(
        f"{studio.url}/v1/images/edits",
        *("-H", auth, "-H", chunked),
        *("-F", "model=nano-banana", "-F", "prompt=make it night", "-F", f"image=@{image}"),
    )
    assert status == 200, answer
    assert image_of(answer["data"][0]["b64_json"]).format == "PNG"

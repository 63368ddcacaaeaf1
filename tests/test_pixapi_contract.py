"""Every PixapiProvider method against a real HTTP server on 127.0.0.1 that speaks API.md."""

from __future__ import annotations

import io
import socket
import time

import pytest
from PIL import Image

from studio.generations.media import probe_video
from studio.providers.base import InputImage, ProviderError
from studio.providers.pixapi import PixapiProvider
from tests.fake_pixapi import API_KEY, openai_error, pixapi_error, png_bytes


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def pixapi(fake, sleeps, settings):
    settings.PROVIDER_ALLOW_PRIVATE_URLS = True  # the fake's files are on loopback
    provider = PixapiProvider(base_url=fake.url, api_key=API_KEY, timeout=5, sleep=sleeps.append)
    yield provider
    provider.client.close()


def fetch(provider, output) -> tuple[bytes, str]:
    dest = io.BytesIO()
    fetched = provider.fetch(output, dest)
    assert fetched.size == len(dest.getvalue())
    return dest.getvalue(), fetched.content_type


def test_it_generates_images_and_fetches_them_without_the_key(pixapi, fake):
    result = pixapi.generate_images(
        model="gpt-image-2", prompt="a red bicycle", n=2, size="64x48", quality="low"
    )
    assert len(result.outputs) == 2
    for output in result.outputs:
        assert output.url.startswith(f"{fake.url}/files/")
        data, content_type = fetch(pixapi, output)
        assert content_type == "image/png"
        assert Image.open(io.BytesIO(data)).size == (64, 48)
    (call,) = fake.seen("POST", "/v1/images/generations")
    assert call.headers["Authorization"] == f"Bearer {API_KEY}"
    assert call.body["quality"] == "low" and call.body["n"] == 2
    downloads = [r for r in fake.requests if r.path.startswith("/files/")]
    assert len(downloads) == 2
    assert all("Authorization" not in r.headers for r in downloads)


def test_it_edits_with_image_then_image_brackets_and_a_mask(pixapi, fake):
    one = [InputImage(data=png_bytes(8, 8), filename="in.png")]
    result = pixapi.edit_images(
        model="gpt-image-2", prompt="night", images=one, mask=None, n=1, size="32x32", quality=None
    )
    data, _ = fetch(pixapi, result.outputs[0])
    assert Image.open(io.BytesIO(data)).size == (32, 32)
    two = [InputImage(data=png_bytes(8, 8), filename=f"{i}.png") for i in range(2)]
    mask = InputImage(data=png_bytes(8, 8), filename="mask.png")
    pixapi.edit_images(
        model="nano-banana", prompt="merge", images=two, mask=mask, n=1, size="32x32", quality=None
    )
    first, second = fake.seen("POST", "/v1/images/edits")
    assert [f[0] for f in first.body["files"]] == ["image"]
    assert [f[0] for f in second.body["files"]] == ["image[]", "image[]", "mask"]
    assert second.body["fields"]["model"] == "nano-banana"
    assert "quality" not in second.body["fields"]


def test_a_video_task_goes_from_submitted_to_completed_and_its_mp4_is_fetched(
    pixapi, fake, tmp_path
):
    image = InputImage(data=png_bytes(8, 8), url="https://studio.example/media/x.png?sig=abc")
    task = pixapi.submit_video(
        model="veo",
        prompt="a reveal",
        duration=5,
        size="1280x720",
        quality="fast",
        input_image=image,
    )
    assert (task.status, task.progress) == ("submitted", 0)
    (call,) = fake.seen("POST", "/v1/async/videos/generations")
    assert call.body == {
        "model": "veo",
        "prompt": "a reveal",
        "duration": 5,
        "size": "1280x720",
        "quality": "fast",
        "input_image": "https://studio.example/media/x.png?sig=abc",
    }
    running = pixapi.get_task(task.id)
    assert (running.status, running.progress, running.is_final) == ("processing", 50, False)
    done = pixapi.get_task(task.id)
    assert done.status == "completed" and done.is_final
    data, content_type = fetch(pixapi, done.outputs[0])
    assert content_type == "video/mp4"
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    info = probe_video(path)
    assert (info.codec, info.width, info.height) == ("h264", 64, 36)


def test_it_lists_the_models(pixapi):
    assert [m["id"] for m in pixapi.list_models()] == ["veo", "gpt-image-2"]


def test_an_unknown_task_is_a_permanent_not_found(pixapi):
    with pytest.raises(ProviderError) as e:
        pixapi.get_task("task_missing")
    assert (e.value.status, e.value.code, e.value.permanent) == (404, "not_found", True)


def test_a_wrong_key_is_a_permanent_unauthorized(fake, settings):
    provider = PixapiProvider(base_url=fake.url, api_key="sk-wrong", timeout=5, sleep=lambda s: 0)
    with pytest.raises(ProviderError) as e:
        provider.list_models()
    assert (e.value.status, e.value.code, e.value.permanent) == (401, "unauthorized", True)
    assert "sk-wrong" not in e.value.message


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (openai_error(422, "prompt_rejected", "Against the content policy."), "prompt_rejected"),
        (pixapi_error(402, 402, "Not enough credits."), "insufficient_credits"),
        (pixapi_error(400, "invalid_request_error", "size is wrong."), "invalid_request_error"),
    ],
)
def test_permanent_errors_in_both_shapes_are_not_retried(pixapi, fake, sleeps, response, code):
    fake.fail_next("POST", "/v1/images/generations", response)
    with pytest.raises(ProviderError) as e:
        pixapi.generate_images(model="gpt-image-2", prompt="x", n=1, size="8x8", quality=None)
    assert (e.value.code, e.value.permanent) == (code, True)
    assert len(fake.seen("POST", "/v1/images/generations")) == 1 and sleeps == []


def test_a_429_with_retry_after_is_waited_out_and_retried(pixapi, fake, sleeps):
    status, headers, body = pixapi_error(429, "rate_limited", "Too many requests.")
    fake.fail_next(
        "POST", "/v1/images/generations", (status, {**headers, "Retry-After": "2"}, body)
    )
    result = pixapi.generate_images(model="gpt-image-2", prompt="x", n=1, size="8x8", quality=None)
    assert result.outputs and sleeps == [2.0]
    assert len(fake.seen("POST", "/v1/images/generations")) == 2


def test_a_503_on_submit_is_retried_but_a_500_is_not(pixapi, fake, sleeps):
    fake.fail_next("POST", "/v1/async/videos/generations", pixapi_error(503, 503, "Busy."))
    task = pixapi.submit_video(
        model="veo", prompt="x", duration=1, size="1280x720", quality=None, input_image=None
    )
    assert task.status == "submitted" and len(sleeps) == 1
    fake.fail_next("POST", "/v1/async/videos/generations", openai_error(500, "internal_error", "?"))
    with pytest.raises(ProviderError) as e:
        pixapi.submit_video(
            model="veo", prompt="x", duration=1, size="1280x720", quality=None, input_image=None
        )
    assert (e.value.code, e.value.permanent) == ("internal_error", False)
    assert len(fake.seen("POST", "/v1/async/videos/generations")) == 3  # 503, ok, 500


def test_a_500_on_a_poll_is_retried(pixapi, fake, sleeps):
    task = pixapi.submit_video(
        model="wan", prompt="x", duration=1, size="1280x720", quality=None, input_image=None
    )
    fake.fail_next("GET", f"/v1/tasks/{task.id}", openai_error(500, "internal_error", "Oops."))
    assert pixapi.get_task(task.id).status == "processing"
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] <= 0.625  # the first backoff, plus jitter


def test_a_post_that_times_out_is_not_repeated(fake, settings):
    def slow(seen):
        time.sleep(0.6)
        return 200, {"Content-Type": "application/json"}, b'{"data": []}'

    fake.route("/v1/images/generations", slow)
    provider = PixapiProvider(base_url=fake.url, api_key=API_KEY, timeout=0.2, sleep=lambda s: 0)
    with pytest.raises(ProviderError) as e:
        provider.generate_images(model="gpt-image-2", prompt="x", n=1, size="8x8", quality=None)
    assert not e.value.permanent and "in time" in e.value.message
    assert len(fake.seen("POST", "/v1/images/generations")) == 1


def test_a_platform_that_refuses_connections_is_retried_then_transient():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    waits = []
    provider = PixapiProvider(
        base_url=f"http://127.0.0.1:{port}", api_key=API_KEY, timeout=2, sleep=waits.append
    )
    with pytest.raises(ProviderError) as e:
        provider.submit_video(
            model="veo", prompt="x", duration=1, size="1280x720", quality=None, input_image=None
        )
    assert not e.value.permanent and len(waits) == 3  # refused before sending: safe to repeat


def test_openais_output_options_go_upstream_as_asked(pixapi, fake):
    from studio.catalog.quote import ImageOptions

    options = ImageOptions(
        output_format="webp", output_compression=70, background="opaque", moderation="low"
    )
    result = pixapi.generate_images(
        model="gpt-image-2", prompt="x", n=1, size="64x48", quality="low", options=options
    )
    (call,) = fake.seen("POST", "/v1/images/generations")
    assert {k: call.body[k] for k in options.asked()} == options.asked()
    assert result.outputs  # the fake answers PNG: the pipeline converts (test_api)
    pixapi.edit_images(
        model="gpt-image-2",
        prompt="x",
        images=[InputImage(data=png_bytes(8, 8))],
        mask=None,
        n=1,
        size="32x32",
        quality=None,
        options=ImageOptions(input_fidelity="high"),
    )
    (edit,) = fake.seen("POST", "/v1/images/edits")
    assert edit.body["fields"]["input_fidelity"] == "high"
    assert "moderation" not in edit.body["fields"]  # only what was asked for

"""The Pixapi client over httpx.MockTransport: what it sends, how it reads both error shapes,
and exactly when it retries."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from studio.providers import pixapi
from studio.providers.base import InputImage, ProviderError, get_provider, reset_providers
from studio.providers.local import LocalProvider
from studio.providers.pixapi import PixapiProvider, parse_retry_after
from tests.fake_pixapi import parse_multipart, png_bytes

KEY = "sk-live-very-secret-key-1234567890"
BASE = "https://api.pixapi.test"
PNG = png_bytes(4, 4)


class Upstream:
    """A scripted Pixapi: answers requests from a list (the last answer repeats) and keeps
    what it was sent."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def provider(self, **options) -> PixapiProvider:
        return PixapiProvider(
            base_url=options.pop("base_url", BASE),
            api_key=options.pop("api_key", KEY),
            timeout=5,
            transport=httpx.MockTransport(self),
            sleep=self.sleeps.append,
            jitter=options.pop("jitter", lambda: 0.0),
            **options,
        )


def ok(body: dict, **headers) -> httpx.Response:
    return httpx.Response(200, json=body, headers=headers)


def images_body(*items) -> dict:
    return {"created": 1, "data": list(items)}


def openai_shape(status: int, name: str, message="Nope.") -> httpx.Response:
    body = {"message": message, "type": name, "param": None, "code": name, "request_id": "r1"}
    return httpx.Response(status, json={"error": body})


def pixapi_shape(status: int, code, message="Nope.") -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


def generate(provider, **overrides):
    options = {"model": "gpt-image-2", "prompt": "a red bicycle", "n": 1, "size": "1024x1024"}
    return provider.generate_images(**{"quality": None, **options, **overrides})


def submit(provider, **overrides):
    options = dict(model="veo", prompt="a reveal", duration=5, size="1280x720", quality="lite")
    return provider.submit_video(**{"input_image": None, **options, **overrides})


# --- what it sends ------------------------------------------------------------------------------


def test_it_posts_generations_as_json_with_key_user_agent_and_fields():
    upstream = Upstream(ok(images_body({"url": "https://cdn.pixapi.test/a.png"})))
    result = generate(upstream.provider(), quality="high", n=2)
    (request,) = upstream.requests
    assert (request.method, str(request.url)) == ("POST", f"{BASE}/v1/images/generations")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["user-agent"].startswith("pixapi-studio/")
    assert json.loads(request.content) == {
        "model": "gpt-image-2",
        "prompt": "a red bicycle",
        "n": 2,
        "size": "1024x1024",
        "quality": "high",
        "response_format": "url",
    }
    assert result.outputs[0].url == "https://cdn.pixapi.test/a.png"


def test_it_leaves_quality_out_when_there_is_none():
    upstream = Upstream(ok(images_body({"url": "https://x/a.png"})))
    generate(upstream.provider(), quality=None)
    assert "quality" not in json.loads(upstream.requests[0].content)


def test_it_reads_b64_json_images_as_data():
    encoded = base64.b64encode(PNG).decode()
    upstream = Upstream(ok(images_body({"b64_json": encoded})))
    (output,) = generate(upstream.provider()).outputs
    assert (output.data, output.content_type, output.url) == (PNG, "image/png", None)


def test_a_base_url_ending_in_v1_is_the_same_base():
    upstream = Upstream(ok({"object": "list", "data": []}))
    upstream.provider(base_url=f"{BASE}/v1/").list_models()
    assert str(upstream.requests[0].url) == f"{BASE}/v1/models"


def edit(provider, images, mask=None):
    return provider.edit_images(
        model="gpt-image-2",
        prompt="make it night",
        images=images,
        mask=mask,
        n=1,
        size="1024x1024",
        quality="low",
    )


def test_one_edit_image_goes_as_image():
    upstream = Upstream(ok(images_body({"url": "https://x/a.png"})))
    edit(upstream.provider(), [InputImage(data=PNG, filename="in.png")])
    request = upstream.requests[0]
    assert str(request.url) == f"{BASE}/v1/images/edits"
    form = parse_multipart(request.headers["content-type"], request.content)
    assert [(name, filename, data) for name, filename, data, _ in form["files"]] == [
        ("image", "in.png", PNG)
    ]
    assert form["fields"] == {
        "model": "gpt-image-2",
        "prompt": "make it night",
        "n": "1",
        "size": "1024x1024",
        "quality": "low",
        "response_format": "url",
    }


def test_several_edit_images_go_as_image_brackets_and_the_mask_as_mask():
    upstream = Upstream(ok(images_body({"url": "https://x/a.png"})))
    images = [InputImage(data=PNG, filename="a.png"), InputImage(data=b"2", filename="b.png")]
    edit(upstream.provider(), images, mask=InputImage(data=b"m", filename="mask.png"))
    form = parse_multipart(
        upstream.requests[0].headers["content-type"], upstream.requests[0].content
    )
    assert [(name, filename) for name, filename, _, _ in form["files"]] == [
        ("image[]", "a.png"),
        ("image[]", "b.png"),
        ("mask", "mask.png"),
    ]


def test_it_submits_a_video_with_duration_and_input_image():
    upstream = Upstream(ok({"status": "submitted", "id": "task_1", "progress": 0, "model": "veo"}))
    image = InputImage(data=PNG, url="https://studio.example/m/abc?sig=1")
    task = submit(upstream.provider(), input_image=image)
    request = upstream.requests[0]
    assert str(request.url) == f"{BASE}/v1/async/videos/generations"
    assert json.loads(request.content) == {
        "model": "veo",
        "prompt": "a reveal",
        "duration": 5,
        "size": "1280x720",
        "quality": "lite",
        "input_image": "https://studio.example/m/abc?sig=1",
    }
    assert (task.id, task.status, task.progress) == ("task_1", "submitted", 0)


def test_image_to_video_without_a_public_url_is_refused_before_calling():
    upstream = Upstream(ok({}))
    with pytest.raises(ProviderError) as e:
        submit(upstream.provider(), input_image=InputImage(data=PNG, url=None))
    assert e.value.permanent and e.value.code == "invalid_request_error"
    assert "STUDIO_PUBLIC_URL" in e.value.message
    assert upstream.requests == []


def test_it_reads_a_running_a_completed_and_a_failed_task():
    upstream = Upstream(
        ok({"id": "task_1", "status": "processing", "progress": 40}),
        ok(
            {
                "id": "task_1",
                "status": "completed",
                "progress": 100,
                "result": {"data": [{"url": "https://cdn.pixapi.test/v.mp4"}]},
                "usage": {"credits": "5.00"},
            }
        ),
        ok(
            {
                "id": "task_1",
                "status": "failed",
                "error": {"code": "prompt_rejected", "message": "Not allowed."},
                "usage": {"credits": 0},
            }
        ),
    )
    provider = upstream.provider()
    running = provider.get_task("task_1")
    assert (running.status, running.progress, running.is_final) == ("processing", 40, False)
    done = provider.get_task("task_1")
    assert done.is_final and done.outputs[0].url == "https://cdn.pixapi.test/v.mp4"
    failed = provider.get_task("task_1")
    assert (failed.status, failed.error_code, failed.error_message) == (
        "failed",
        "prompt_rejected",
        "Not allowed.",
    )
    assert str(upstream.requests[0].url) == f"{BASE}/v1/tasks/task_1"
    assert upstream.requests[0].method == "GET"


def test_a_task_id_is_quoted_into_its_path():
    upstream = Upstream(ok({"id": "t", "status": "queued"}))
    upstream.provider().get_task("../models?x=1")
    assert upstream.requests[0].url.raw_path == b"/v1/tasks/..%2Fmodels%3Fx%3D1"


def test_it_lists_models():
    upstream = Upstream(ok({"object": "list", "data": [{"id": "veo", "object": "model"}]}))
    assert upstream.provider().list_models() == [{"id": "veo", "object": "model"}]


# --- errors: every status of API.md's table, in both shapes -----------------------------------


def test_every_error_name_of_the_table_has_words_for_when_pixapi_answers_it():
    assert set(pixapi.SAYS) == set(pixapi.ERROR_NAMES)


TABLE = [
    (400, "invalid_request_error", True),
    (401, "unauthorized", True),
    (403, "permission_denied", True),
    (402, "insufficient_credits", True),
    (404, "not_found", True),
    (422, "prompt_rejected", True),
    (429, "rate_limited", False),
    (500, "internal_error", False),
    (503, "model_unavailable", False),
]


@pytest.mark.parametrize(("status", "name", "permanent"), TABLE)
@pytest.mark.parametrize("shape", ["openai", "numeric code", "string code"])
def test_every_documented_error_becomes_a_provider_error(status, name, permanent, shape):
    answer = {
        "openai": openai_shape(status, name, "The details."),
        "numeric code": pixapi_shape(status, status, "The details."),
        "string code": pixapi_shape(status, name, "The details."),
    }[shape]
    upstream = Upstream(answer)
    with pytest.raises(ProviderError) as e:
        upstream.provider().get_task("task_1")
    error = e.value
    assert (error.status, error.code, error.permanent) == (status, name, permanent)
    assert "The details" in error.message
    assert isinstance(error.__cause__, pixapi.APIStatusError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, pixapi.BadRequestError),
        (401, pixapi.AuthenticationError),
        (402, pixapi.InsufficientCreditsError),
        (404, pixapi.NotFoundError),
        (422, pixapi.PromptRejectedError),
        (429, pixapi.RateLimitError),
        (500, pixapi.InternalServerError),
        (503, pixapi.ServiceUnavailableError),
    ],
)
def test_the_client_raises_one_typed_error_per_status_family(status, cls):
    upstream = Upstream(pixapi_shape(status, status))
    client = upstream.provider(jitter=lambda: 0).client
    with pytest.raises(cls):
        client.list_models()


def test_a_404_for_a_model_keeps_model_not_found():
    upstream = Upstream(openai_shape(404, "invalid_request_error"))
    upstream.answers = [
        httpx.Response(
            404,
            json={
                "error": {
                    "type": "invalid_request_error",
                    "code": "model_not_found",
                    "message": "No such model.",
                }
            },
        )
    ]
    with pytest.raises(ProviderError) as e:
        generate(upstream.provider())
    assert (e.value.code, e.value.permanent) == ("model_not_found", True)


def test_the_status_decides_when_the_body_disagrees():
    upstream = Upstream(pixapi_shape(400, "model_unavailable"))
    with pytest.raises(ProviderError) as e:
        generate(upstream.provider())
    assert (e.value.code, e.value.permanent) == ("invalid_request_error", True)


def test_a_body_that_is_not_json_is_still_an_error():
    upstream = Upstream(httpx.Response(502, text="<html><h1>Bad gateway</h1></html>"))
    with pytest.raises(ProviderError) as e:
        upstream.provider().list_models()
    assert (e.value.status, e.value.code, e.value.permanent) == (502, "internal_error", False)
    assert "<html>" not in e.value.message and "HTTP 502" in e.value.message


def test_a_success_with_a_body_it_cant_read_is_an_error():
    upstream = Upstream(httpx.Response(200, text="not json"))
    with pytest.raises(ProviderError) as e:
        generate(upstream.provider())
    assert e.value.status == 200 and not e.value.permanent
    assert len(upstream.requests) == 1  # never repeated: the platform may have charged


def test_messages_never_carry_the_key_or_a_url():
    leaky = (
        f"Key {KEY} is revoked; Authorization: Bearer {KEY}; see https://pixapi.test/keys?k={KEY}"
    )
    upstream = Upstream(openai_shape(401, "unauthorized", leaky))
    with pytest.raises(ProviderError) as e:
        generate(upstream.provider())
    for text in (e.value.message, repr(e.value), str(e.value.__cause__)):
        assert KEY not in text and "https://" not in text
    assert "revoked" in e.value.message


def test_a_failed_tasks_message_carries_no_key_either():
    upstream = Upstream(
        ok({"id": "t", "status": "failed", "error": {"code": "x", "message": f"bad {KEY}"}})
    )
    assert KEY not in upstream.provider().get_task("t").error_message


def test_without_a_key_it_refuses_before_calling():
    upstream = Upstream(ok({}))
    with pytest.raises(ProviderError) as e:
        generate(upstream.provider(api_key=""))
    assert e.value.permanent and e.value.code == "unauthorized"
    assert "PIXAPI_API_KEY" in e.value.message and upstream.requests == []


# --- retries -----------------------------------------------------------------------------------


def test_it_retries_a_get_after_500_and_503_with_backoff():
    upstream = Upstream(
        pixapi_shape(500, 500), pixapi_shape(503, 503), ok({"id": "t", "status": "queued"})
    )
    assert upstream.provider().get_task("t").status == "queued"
    assert len(upstream.requests) == 3
    assert upstream.sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
)
def test_it_retries_a_get_after_connection_trouble(failure):
    upstream = Upstream(failure, ok({"object": "list", "data": []}))
    assert upstream.provider().list_models() == []
    assert len(upstream.requests) == 2


@pytest.mark.parametrize("status", [429, 503])
def test_it_retries_a_post_after_429_and_503(status):
    upstream = Upstream(pixapi_shape(status, status), ok(images_body({"url": "https://x/a.png"})))
    assert generate(upstream.provider()).outputs
    assert len(upstream.requests) == 2


def test_it_retries_a_post_whose_connection_was_refused():
    upstream = Upstream(httpx.ConnectError("refused"), ok(images_body({"url": "https://x/a.png"})))
    assert generate(upstream.provider()).outputs
    assert len(upstream.requests) == 2


@pytest.mark.parametrize(
    "failure",
    [
        pixapi_shape(500, 500),
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("hung up"),
        httpx.WriteError("broken pipe"),
    ],
)
def test_it_never_retries_a_post_the_platform_may_have_accepted(failure):
    upstream = Upstream(failure, ok(images_body({"url": "https://x/a.png"})))
    with pytest.raises(ProviderError) as e:
        submit(upstream.provider())
    assert not e.value.permanent  # it may work later; the pipeline decides
    assert len(upstream.requests) == 1 and upstream.sleeps == []


@pytest.mark.parametrize("status", [400, 401, 402, 404, 422])
def test_it_never_retries_a_permanent_error(status):
    upstream = Upstream(pixapi_shape(status, status))
    with pytest.raises(ProviderError):
        upstream.provider().get_task("t")
    assert len(upstream.requests) == 1


def test_retries_are_bounded():
    upstream = Upstream(pixapi_shape(503, "model_unavailable"))
    with pytest.raises(ProviderError) as e:
        upstream.provider().get_task("t")
    assert e.value.code == "model_unavailable" and not e.value.permanent
    assert len(upstream.requests) == pixapi.MAX_ATTEMPTS == 4
    assert upstream.sleeps == [0.5, 1.0, 2.0]


def test_backoff_is_capped_at_eight_seconds_and_jittered():
    upstream = Upstream(pixapi_shape(503, 503))
    provider = upstream.provider(jitter=lambda: 1.0)
    provider.client.max_attempts = 7
    with pytest.raises(ProviderError):
        provider.list_models()
    bases = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert upstream.sleeps == [b * 1.25 for b in bases]


def test_it_waits_as_long_as_retry_after_says():
    upstream = Upstream(
        httpx.Response(
            429, json={"error": {"code": 429, "message": "slow down"}}, headers={"Retry-After": "3"}
        ),
        ok(images_body({"url": "https://x/a.png"})),
    )
    generate(upstream.provider())
    assert upstream.sleeps == [3.0]


def test_retry_after_may_be_an_http_date():
    when = datetime.now(UTC) + timedelta(seconds=20)
    assert parse_retry_after(format_datetime(when, usegmt=True)) == pytest.approx(20, abs=1.5)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0


def test_a_retry_after_too_long_to_wait_is_handed_to_the_caller():
    upstream = Upstream(pixapi_shape(429, "rate_limited"))
    upstream.answers = [
        httpx.Response(
            429, json={"error": {"code": 429, "message": "x"}}, headers={"Retry-After": "120"}
        )
    ]
    with pytest.raises(ProviderError) as e:
        upstream.provider().get_task("t")
    assert (e.value.code, e.value.retry_after) == ("rate_limited", 120.0)
    assert len(upstream.requests) == 1 and upstream.sleeps == []


def test_a_connection_error_is_transient_and_says_so_plainly():
    upstream = Upstream(httpx.ConnectError(f"could not connect to {BASE}"))
    with pytest.raises(ProviderError) as e:
        upstream.provider().get_task("t")
    assert not e.value.permanent and e.value.status is None
    assert e.value.message == "Pixapi could not be reached."
    assert isinstance(e.value.__cause__, pixapi.APIConnectionError)
    assert isinstance(e.value.__cause__.__cause__, httpx.ConnectError)


# --- the registry ----------------------------------------------------------------------------


def test_the_registry_loads_the_configured_provider(settings):
    reset_providers()
    try:
        assert isinstance(get_provider(), LocalProvider)
        settings.STUDIO_PROVIDER = "pixapi"
        settings.PIXAPI_API_KEY = KEY
        provider = get_provider()
        assert isinstance(provider, PixapiProvider) and get_provider() is provider
        assert provider.client.http.headers["authorization"] == f"Bearer {KEY}"
        assert str(provider.client.http.base_url).rstrip("/") == settings.PIXAPI_BASE_URL
        assert provider.client.http.timeout.read == settings.PIXAPI_TIMEOUT
    finally:
        reset_providers()

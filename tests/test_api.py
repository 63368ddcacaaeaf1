"""The /v1 API: every row of the error table, the same pipeline as the pages, idempotency."""

from __future__ import annotations

import base64
import io
import json
from decimal import Decimal

import pytest
from PIL import Image

from studio.accounts.models import ApiKey, Membership
from studio.credits import ledger
from studio.credits.models import Reservation
from studio.generations.models import Asset, Job

D = Decimal


def png(width=64, height=48, color=(200, 40, 40)) -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    out.seek(0)
    out.name = "in.png"
    return out


def assert_error(r, status, code, param="__any__"):
    assert r.status_code == status, r.content
    body = r.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code", "request_id"}
    assert error["code"] == code
    assert error["request_id"] == r["x-request-id"]
    assert error["message"]
    if param != "__any__":
        assert error["param"] == param
    return error


# ---- auth and the error table ---------------------------------------------------------------


def test_a_missing_key_is_401(client, db):
    r = client.get("/v1/models")
    assert_error(r, 401, "unauthorized")


def test_a_wrong_revoked_or_expired_key_is_401(client, alpha, alice, key):
    from django.utils import timezone

    assert_error(client.get("/v1/models", HTTP_AUTHORIZATION="Bearer sk_nope"), 401, "unauthorized")
    k = ApiKey.objects.get()
    k.revoked_at = timezone.now()
    k.save()
    assert_error(client.get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {key}"), 401, "unauthorized")
    _, expired = ApiKey.create(user=alice, workspace=alpha, name="old", expires_at=timezone.now())
    assert_error(
        client.get("/v1/models", HTTP_AUTHORIZATION=f"Bearer {expired}"), 401, "unauthorized"
    )


def test_keys_are_stored_as_hashes(key):
    k = ApiKey.objects.get()
    assert key not in (k.prefix, k.hashed)
    assert key.startswith(k.prefix)
    assert len(k.hashed) == 64


def test_every_response_has_a_request_id(api, client):
    for r in (api.get("/v1/models"), client.get("/v1/models"), api.get("/v1/nope")):
        assert r["x-request-id"].startswith("req_")


def test_models_lists_the_catalog_with_prices(api):
    r = api.get("/v1/models")
    assert r.status_code == 200
    models = {m["id"]: m for m in r.json()["data"]}
    assert set(models) >= {"gpt-image-2", "veo", "kling", "wan", "gemini-2.5-flash-image"}
    assert models["gemini-2.5-flash-image"]["aliases"] == ["nano-banana"]
    assert models["kling"]["pricing"] == {
        "unit": "second",
        "credits": {"any quality": {"720P": "2.24"}},
    }


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"prompt": "x"}, "model", "model is required"),
        ({"model": "nano-banana"}, "prompt", "Write a prompt"),
        ({"model": "nano-banana", "prompt": "x", "size": "9999x9999"}, "size", "too large"),
        ({"model": "nano-banana", "prompt": "x", "n": 11}, "n", "from 1 to 10"),
        ({"model": "nano-banana", "prompt": "x", "colour": "red"}, "colour", "Unknown field"),
        (
            {"model": "nano-banana", "prompt": "x", "response_format": "png"},
            "response_format",
            "url or b64_json",
        ),
        ({"model": "veo", "prompt": "x"}, "model", "POST /v1/async/videos/generations"),
    ],
)
def test_invalid_requests_are_400_naming_the_field(api, body, param, words):
    error = assert_error(
        api.post("/v1/images/generations", body), 400, "invalid_request_error", param
    )
    assert words in error["message"]
    assert not Job.objects.exists()


def test_an_unknown_model_is_404_model_not_found(api):
    assert_error(
        api.post("/v1/images/generations", {"model": "dall-e-9", "prompt": "x"}),
        404,
        "model_not_found",
        "model",
    )


def test_malformed_json_wrong_type_and_non_objects_are_400(api, client, key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    r = client.post("/v1/images/generations", "{not json", content_type="application/json", **auth)
    assert "not valid JSON" in assert_error(r, 400, "invalid_request_error")["message"]
    r = client.post("/v1/images/generations", {"model": "x"}, **auth)  # multipart
    assert_error(r, 400, "invalid_request_error", "Content-Type")
    r = client.post("/v1/images/generations", "[1]", content_type="application/json", **auth)
    assert_error(r, 400, "invalid_request_error")


def test_edits_need_multipart_with_an_image(api):
    assert_error(
        api.post("/v1/images/edits", {"model": "nano-banana", "prompt": "x"}),
        400,
        "invalid_request_error",
        "Content-Type",
    )
    r = api.multipart("/v1/images/edits", {"model": "nano-banana", "prompt": "x"})
    assert_error(r, 400, "invalid_request_error", "image")
    r = api.multipart(
        "/v1/images/edits",
        {"model": "nano-banana", "prompt": "x", "image": io.BytesIO(b"not an image")},
    )
    assert_error(r, 400, "invalid_request_error", "image")
    assert not Asset.objects.exists()


def test_an_oversized_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    r = api.post("/v1/images/generations", {"model": "nano-banana", "prompt": "x" * 4000})
    assert_error(r, 413, "request_too_large")


def test_unknown_paths_and_methods_are_api_errors(api):
    assert_error(api.get("/v1/nope"), 404, "not_found")
    r = api.get("/v1/images/generations")
    assert_error(r, 405, "method_not_allowed")
    assert r["Allow"] == "POST"


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/v1/videos/generations", {"model": "veo", "prompt": "x"}, "/v1/async/videos/generations"),
        (
            "/v1/async/videos/generations",
            {"model": "veo", "prompt": "x", "seconds": 5},
            "use duration",
        ),
        (
            "/v1/async/videos/generations",
            {"model": "veo", "prompt": "x", "image_url": "http://x"},
            "use input_image",
        ),
        (
            "/v1/images/generations",
            {"model": "nano-banana", "prompt": "x", "async": True},
            "async is a route",
        ),
        (
            "/v1/images/generations?async=true",
            {"model": "nano-banana", "prompt": "x"},
            "async is a route",
        ),
    ],
)
def test_deprecated_forms_are_400_naming_the_right_one(api, path, body, words):
    error = assert_error(api.post(path, body), 400, "invalid_request_error")
    assert words in error["message"]
    assert not Job.objects.exists()


def test_insufficient_credits_is_402_before_any_provider_call(api, alpha):
    r = api.post(
        "/v1/images/generations",
        {"model": "gpt-image-2", "prompt": "x", "size": "3840x2160", "n": 10},
    )
    error = assert_error(r, 402, "insufficient_credits")
    assert "needs 1330.00 credits and the workspace has 100.00" in error["message"]
    assert not Job.objects.exists()
    assert ledger.balance(alpha) == D("100.00")


def test_a_key_cap_and_an_allow_list_are_enforced(client, alpha, alice):
    ledger.grant(alpha, 100)
    _, capped = ApiKey.create(
        user=alice,
        workspace=alpha,
        name="capped",
        credit_cap=D("3"),
        allowed_models=["gemini-2.5-flash-image"],
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {capped}"}
    body = json.dumps({"model": "gpt-image-2", "prompt": "x"})
    r = client.post("/v1/images/generations", body, content_type="application/json", **auth)
    assert (
        "may only use gemini-2.5-flash-image"
        in assert_error(r, 400, "invalid_request_error", "model")["message"]
    )
    body = json.dumps({"model": "nano-banana", "prompt": "x", "n": 2})
    r = client.post("/v1/images/generations", body, content_type="application/json", **auth)
    assert "capped at 3.00" in assert_error(r, 402, "insufficient_credits")["message"]


def test_the_rate_limit_answers_429_with_retry_after(api, settings):
    settings.API_RATE_BURST = 3
    settings.API_RATE_LIMIT = 6  # one every 10 s
    statuses = [api.get("/v1/models").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = api.get("/v1/models")
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r["Retry-After"]) <= 10


def test_a_viewer_removed_from_the_workspace_is_401(api, alice, alpha):
    Membership.objects.filter(user=alice, workspace=alpha).delete()
    assert_error(api.get("/v1/models"), 401, "unauthorized")


# ---- the pipeline -------------------------------------------------------------------------


def test_a_sync_generation_returns_our_urls_and_charges_once(api, alpha, alice, client):
    r = api.post(
        "/v1/images/generations",
        {
            "model": "gpt-image-2",
            "prompt": "a red bicycle",
            "quality": "medium",
            "n": 2,
            "size": "1024x1024",
        },
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["usage"] == {
        "input_tokens": 0,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
        "output_tokens": 0,
        "total_tokens": 0,
        "credits": "8.00",
        "reserved": "8.00",
    }
    assert r["x-credits-charged"] == "8.00"
    assert len(body["data"]) == 2
    assert base64.b64decode(body["data"][1]["b64_json"]).startswith(b"\x89PNG")
    url = body["data"][0]["url"]
    assert url.startswith("http://testserver/media/")
    image = client.get(url.removeprefix("http://testserver"))
    assert image.status_code == 200
    assert Image.open(io.BytesIO(b"".join(image.streaming_content))).size == (1024, 1024)
    job = Job.objects.get()
    assert (job.user, job.workspace, job.source, job.status) == (alice, alpha, "api", "completed")
    assert Asset.objects.filter(job=job, user=alice).count() == 2
    assert ledger.balance(alpha) == D("92.00")


def test_usage_is_the_same_in_a_sync_answer_and_its_task(api):
    r = api.post("/v1/images/generations", {"model": "nano-banana", "prompt": "a kite"})
    task = api.get(f"/v1/tasks/{Job.objects.get().public_id}").json()
    assert r.json()["usage"] == task["usage"]
    assert task["usage"]["credits"] == r["x-credits-charged"] == "2.00"


@pytest.mark.parametrize(
    ("model", "path", "formats"),
    [
        ("gpt-image-2", "/v1/images/generations", {"url", "b64_json"}),
        ("gpt-image-1.5", "/v1/images/generations", {"url", "b64_json"}),
        ("nano-banana", "/v1/images/generations", {"url"}),
        ("nano-banana", "/v1/images/edits", {"url", "b64_json"}),
        ("gemini-3-pro-image-preview", "/v1/images/edits", {"url", "b64_json"}),
    ],
)
def test_without_a_response_format_answers_follow_the_callers_convention(api, model, path, formats):
    body = {"model": model, "prompt": "x", **({"quality": "low"} if "gpt" in model else {})}
    if path.endswith("edits"):
        r = api.multipart(path, {**body, "image": png()})
    else:
        r = api.post(path, body)
    assert set(r.json()["data"][0]) == formats


@pytest.mark.parametrize("response_format", ["url", "b64_json"])
def test_an_explicit_response_format_is_exactly_what_comes_back(api, response_format):
    for model in ("gpt-image-2", "nano-banana"):
        body = {"model": model, "prompt": "x", "response_format": response_format}
        assert set(api.post("/v1/images/generations", body).json()["data"][0]) == {response_format}
    r = api.multipart(
        "/v1/images/edits",
        {"model": "nano-banana", "prompt": "x", "image": png(), "response_format": response_format},
    )
    assert set(r.json()["data"][0]) == {response_format}


def test_b64_json_returns_the_image_inline(api):
    r = api.post(
        "/v1/images/generations",
        {
            "model": "nano-banana",
            "prompt": "a lighthouse",
            "response_format": "b64_json",
            "size": "512",
        },
    )
    assert r.status_code == 200, r.content
    raw = base64.b64decode(r.json()["data"][0]["b64_json"])
    assert Image.open(io.BytesIO(raw)).size == (512, 512)


def test_an_edit_with_several_images_and_a_mask(api, alpha):
    mask = io.BytesIO()
    Image.new("RGBA", (64, 48), (0, 0, 0, 0)).save(mask, "PNG")
    mask.seek(0)
    mask.name = "mask.png"
    r = api.multipart(
        "/v1/images/edits",
        {
            "model": "nano-banana",
            "prompt": "make it black and white",
            "size": "1:1",
            "image[]": [png(), png(color=(0, 0, 200))],
            "mask": mask,
        },
    )
    assert r.status_code == 200, r.content
    job = Job.objects.get()
    assert job.kind == "edit" and len(job.inputs["images"]) == 1 and job.inputs["mask"]
    assert job.source_asset.made_by == "upload"
    assert r.json()["usage"]["credits"] == "2.00"


def test_an_async_video_runs_as_a_task(api, alpha):
    r = api.post(
        "/v1/async/videos/generations",
        {"model": "kling", "prompt": "waves", "duration": 2, "size": "16:9"},
    )
    assert r.status_code == 200, r.content
    submitted = r.json()
    assert submitted["status"] == "submitted" and submitted["model"] == "kling"
    assert submitted["progress"] == 0 and submitted["id"].startswith("task_")
    task = api.get(f"/v1/tasks/{submitted['id']}").json()
    assert task["status"] == "queued"
    assert (task["usage"]["credits"], task["usage"]["reserved"]) == ("0.00", "4.48")
    assert ledger.balance(alpha) == D("95.52")


def test_a_task_of_another_workspace_is_404(api, other, charlie):
    from tests.factories import make_job

    ledger.grant(other, 50)
    job = make_job(other, charlie)
    assert_error(api.get(f"/v1/tasks/{job.public_id}"), 404, "not_found", "id")
    assert_error(api.post(f"/v1/tasks/{job.public_id}/cancel"), 404, "not_found")
    assert Job.objects.get(pk=job.pk).status == "queued"


def test_cancelling_a_queued_task_releases_its_credits(api, alpha):
    r = api.post("/v1/async/images/generations", {"model": "nano-banana", "prompt": "x"})
    task_id = r.json()["id"]
    assert ledger.balance(alpha) == D("98.00")
    r = api.post(f"/v1/tasks/{task_id}/cancel")
    assert r.status_code == 200
    assert r.json()["status"] == "failed" and r.json()["error"]["code"] == "cancelled"
    assert ledger.balance(alpha) == D("100.00")
    assert_error(api.post(f"/v1/tasks/{task_id}/cancel"), 400, "invalid_request_error")


def test_tasks_lists_the_callers_tasks_newest_first_with_a_cursor(api):
    ids = [
        api.post(
            "/v1/async/images/generations", {"model": "nano-banana", "prompt": f"p{i}"}
        ).json()["id"]
        for i in range(3)
    ]
    page = api.get("/v1/tasks?limit=2").json()
    assert [t["id"] for t in page["data"]] == ids[::-1][:2]
    assert page["has_more"] is True
    rest = api.get(f"/v1/tasks?limit=2&after={page['last_id']}").json()
    assert [t["id"] for t in rest["data"]] == [ids[0]]
    assert rest["has_more"] is False
    assert_error(api.get("/v1/tasks?limit=0"), 400, "invalid_request_error", "limit")
    assert_error(api.get("/v1/tasks?after=task_nope"), 400, "invalid_request_error", "after")


def test_an_idempotency_key_returns_the_first_result_without_a_second_charge(api, alpha):
    body = {"model": "nano-banana", "prompt": "a kite"}
    first = api.post("/v1/images/generations", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    again = api.post("/v1/images/generations", body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert Job.objects.count() == 1
    assert ledger.balance(alpha) == D("98.00")
    other = api.post(
        "/v1/images/generations", {**body, "prompt": "a boat"}, HTTP_IDEMPOTENCY_KEY="abc-1"
    )
    assert_error(other, 400, "invalid_request_error", "Idempotency-Key")
    api.post("/v1/images/generations", body, HTTP_IDEMPOTENCY_KEY="abc-2")
    assert Job.objects.count() == 2


def test_a_provider_failure_is_reported_and_costs_nothing(api, alpha, settings):
    settings.LOCAL_PROVIDER_FAIL_RATE = 1.0
    r = api.post("/v1/images/generations", {"model": "nano-banana", "prompt": "x"})
    error = assert_error(r, 503, "model_unavailable")
    assert r["Retry-After"] == "2"
    assert "LOCAL_PROVIDER_FAIL_RATE" in error["message"]
    assert r["x-credits-charged"] == "0.00"
    assert ledger.balance(alpha) == D("100.00")
    assert Reservation.objects.get().settlement.released == D("2.00")


def test_input_image_by_our_own_url_uses_that_asset(api, alpha):
    r = api.post("/v1/images/generations", {"model": "nano-banana", "prompt": "a lamp"})
    url = r.json()["data"][0]["url"]
    r = api.post(
        "/v1/async/videos/generations",
        {"model": "veo", "prompt": "zoom", "duration": 1, "input_image": url},
    )
    assert r.status_code == 200, r.content
    job = Job.objects.get(public_id=r.json()["id"])
    assert job.source_asset == Asset.objects.get(job__kind="generate")


def test_input_image_must_be_a_fetchable_public_url(api):
    for url in ("ftp://example.com/a.png", "http://127.0.0.1:9/a.png", "not a url"):
        r = api.post(
            "/v1/async/videos/generations", {"model": "veo", "prompt": "zoom", "input_image": url}
        )
        assert_error(r, 400, "invalid_request_error", "input_image")
    assert not Job.objects.exists()


def test_the_openapi_document_is_served(client, db):
    r = client.get("/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert "/v1/async/videos/generations" in doc["paths"]


def test_create_api_key_prints_the_key_last(alice, alpha):
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("create_api_key", "--username", "alice", "--name", "ci", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    key = ApiKey.objects.for_token(raw)
    assert (key.name, key.user, key.workspace) == ("ci", alice, alpha)
    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_key", "--username", "ghost")
    with pytest.raises(CommandError, match="not in the workspace 'Other'"):
        call_command("create_api_key", "--username", "alice", "--workspace", "Other")


def test_an_upstream_content_policy_refusal_is_422_prompt_rejected(api, alpha, refusing_upstream):
    r = api.post("/v1/images/generations", {"model": "nano-banana", "prompt": "something"})
    error = assert_error(r, 422, "prompt_rejected")
    assert "content policy" in error["message"] and "sk_upstream" not in error["message"]
    assert ledger.balance(alpha) == D("100.00")


def test_an_unexpected_failure_is_a_500_with_the_request_id(api, alpha):
    from django.core.files.storage import default_storage

    body = {"model": "nano-banana", "prompt": "x", "response_format": "b64_json"}
    assert api.post("/v1/images/generations", body, HTTP_IDEMPOTENCY_KEY="k").status_code == 200
    default_storage.delete(Asset.objects.get().file.name)  # storage lost the file
    r = api.post("/v1/images/generations", body, HTTP_IDEMPOTENCY_KEY="k")
    error = assert_error(r, 500, "internal_error")
    assert "check GET /v1/tasks" in error["message"]
    assert Job.objects.count() == 1


def test_the_error_table_feeds_the_docs_page_and_the_openapi_document(client, db):
    from studio.errors import ERRORS

    page = client.get("/docs/api/").content.decode()
    doc = client.get("/v1/openapi.json").json()
    described = " ".join(
        response["description"]
        for item in doc["paths"].values()
        for operation in item.values()
        for response in operation["responses"].values()
    )
    for name, row in ERRORS.items():
        assert f"<td>{row.status}</td><td><code>{name}</code>" in page
        assert f"{name}: {row.description}" in described


def test_the_contract_limits_come_from_the_catalog(client, alice):
    from studio.catalog import tables

    limit = tables.PROMPT_MAX_LENGTH
    doc = client.get("/v1/openapi.json").json()["components"]["schemas"]
    for schema in ("ImageGenerationRequest", "ImageEditRequest", "VideoGenerationRequest"):
        assert doc[schema]["properties"]["prompt"]["maxLength"] == limit
    assert doc["ImageGenerationRequest"]["properties"]["n"]["maximum"] == tables.N_RANGE[1]
    duration = doc["VideoGenerationRequest"]["properties"]["duration"]
    assert (duration["minimum"], duration["maximum"]) == tables.DURATION_RANGE
    client.force_login(alice)
    assert f'maxlength="{limit}"' in client.get("/").content.decode()


def test_a_prompt_one_character_too_long_is_refused(api):
    from studio.catalog.tables import PROMPT_MAX_LENGTH

    body = {"model": "nano-banana", "prompt": "x" * (PROMPT_MAX_LENGTH + 1)}
    assert_error(
        api.post("/v1/async/images/generations", body), 400, "invalid_request_error", "prompt"
    )
    body["prompt"] = "x" * PROMPT_MAX_LENGTH
    assert api.post("/v1/async/images/generations", body).status_code == 200


# ---- sync calls: run here or queued, never both ---------------------------------------------


def test_a_sync_call_runs_its_job_in_the_request_and_queues_nothing(
    api, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/v1/images/generations", {"model": "nano-banana", "prompt": "a kite"})
    assert r.status_code == 200 and Job.objects.get().status == "completed"
    assert not OrmQ.objects.exists()  # no worker task that would find nothing to do
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/v1/async/images/generations", {"model": "nano-banana", "prompt": "a kite"})
    assert OrmQ.objects.count() == 1  # the async route queues its job instead


@pytest.mark.slow  # waits for a render that is slower than the call may wait
@pytest.mark.django_db(transaction=True)  # the render finishes on a thread of its own
def test_a_sync_call_slower_than_the_wait_answers_503_with_its_task_id(api, alpha, settings):
    import time

    settings.API_SYNC_WAIT = 0.3
    settings.LOCAL_PROVIDER_LATENCY = 1.5  # the render takes longer than the call may wait
    r = api.post("/v1/images/generations", {"model": "nano-banana", "prompt": "a slow kite"})
    error = assert_error(r, 503, "model_unavailable")
    job = Job.objects.get(public_id=r["x-task-id"])
    assert job.public_id in error["message"] and job.status == "processing"
    assert r["Retry-After"] == "2"
    deadline = time.monotonic() + 30
    while not job.is_final and time.monotonic() < deadline:  # ...and it goes on
        time.sleep(0.1)
        job.refresh_from_db()
    task = api.get(f"/v1/tasks/{job.public_id}").json()
    assert (task["status"], task["usage"]["credits"]) == ("completed", "2.00")
    assert ledger.balance(alpha) == D("98.00")


def test_cancelling_a_running_local_video_through_the_api_releases_it(api, alpha):
    from studio.generations import runner

    r = api.post("/v1/async/videos/generations", {"model": "veo", "prompt": "x", "duration": 2})
    task_id = r.json()["id"]
    runner.run_job(Job.objects.get(public_id=task_id).pk)  # submitted: the render is queued
    r = api.post(f"/v1/tasks/{task_id}/cancel")
    assert r.status_code == 200 and r.json()["error"]["code"] == "cancelled"
    assert ledger.balance(alpha) == D("100.00")


def test_a_failed_tasks_reason_is_written_from_its_code(api, alpha, settings):
    from studio.generations import runner
    from studio.generations.failures import describe

    settings.LOCAL_PROVIDER_FAIL_RATE = 1.0
    r = api.post("/v1/async/images/generations", {"model": "nano-banana", "prompt": "x"})
    job = Job.objects.get(public_id=r.json()["id"])
    runner.run_job(job.pk)
    job.refresh_from_db()
    error = api.get(f"/v1/tasks/{job.public_id}").json()["error"]
    assert error == {
        "code": "model_unavailable",
        "message": describe("model_unavailable", job.error_params, hints=False),
    }


def test_an_edit_refused_for_its_price_keeps_none_of_its_uploads(api, alpha, settings):
    ledger.adjust(alpha, D("-99"))  # 1 credit left; a gemini-3-pro edit costs 8
    r = api.multipart(
        "/v1/images/edits",
        {"model": "nano-banana-pro", "prompt": "x", "image[]": [png(), png(), png()]},
    )
    assert_error(r, 402, "insufficient_credits")
    assert not Asset.objects.exists() and not Job.objects.exists()
    stored = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    assert stored == []


def test_a_bad_edit_request_is_refused_before_its_uploads_are_checked(api, settings):
    r = api.multipart(
        "/v1/images/edits",
        {"model": "nano-banana", "prompt": "x", "size": "9999x9999", "image[]": [png(), png()]},
    )
    assert_error(r, 400, "invalid_request_error", "size")
    assert not settings.MEDIA_ROOT.exists() or not any(settings.MEDIA_ROOT.rglob("*.*"))


def test_a_model_answers_in_openais_shape_and_an_alias_as_its_canonical_entry(api):
    gpt = api.get("/v1/models/gpt-image-2").json()
    assert (gpt["id"], gpt["object"], gpt["owned_by"]) == ("gpt-image-2", "model", "pixapi")
    assert api.get("/v1/models/nano-banana").json()["id"] == "gemini-2.5-flash-image"
    flash = api.get("/v1/models/gemini-3.1-flash-image-preview-4k").json()
    assert flash["id"] == "gemini-3.1-flash-image-preview"
    assert flash["tier_ids"]["4K"] == "gemini-3.1-flash-image-preview-4k"
    assert_error(api.get("/v1/models/dall-e-9"), 404, "model_not_found", "model")


# ---- OpenAI's image options -------------------------------------------------------------------


def stored_bytes(job: Job) -> bytes:
    from studio.generations.media import open_asset

    return open_asset(job.assets.get())


def test_output_format_and_compression_make_the_stored_file(api, alpha):
    sizes = {}
    for compression in (20, 90):
        r = api.post(
            "/v1/images/generations",
            {
                "model": "gpt-image-2",
                "prompt": "a red bicycle",
                "quality": "medium",
                "output_format": "jpeg",
                "output_compression": compression,
            },
        )
        assert r.status_code == 200, r.content
        job = Job.objects.latest("id")
        asset = job.assets.get()
        assert (asset.content_type, asset.file.name[-4:]) == ("image/jpeg", ".jpg")
        raw = base64.b64decode(r.json()["data"][0]["b64_json"])
        assert raw == stored_bytes(job) and Image.open(io.BytesIO(raw)).format == "JPEG"
        sizes[compression] = len(raw)
    assert sizes[20] < sizes[90]
    assert ledger.balance(alpha) == D("92.00")  # 4 each: options change no price


def test_a_transparent_webp_keeps_its_transparency(api):
    r = api.post(
        "/v1/async/images/generations",
        {
            "model": "nano-banana",
            "prompt": "a kite",
            "output_format": "webp",
            "background": "transparent",
        },
    )
    from studio.generations import runner

    runner.run_job(Job.objects.get(public_id=r.json()["id"]).pk)
    picture = Image.open(io.BytesIO(stored_bytes(Job.objects.get())))
    assert picture.format == "WEBP" and picture.mode == "RGBA"
    assert picture.getchannel("A").getextrema()[0] == 0


@pytest.mark.parametrize(
    ("options", "param", "words"),
    [
        ({"background": "transparent", "output_format": "jpeg"}, "background", "png or webp"),
        ({"output_format": "gif"}, "output_format", "png, jpeg or webp"),
        ({"output_compression": 101}, "output_compression", "from 0 to 100"),
        ({"background": "green"}, "background", "auto, opaque or transparent"),
        ({"moderation": "none"}, "moderation", "auto or low"),
        ({"style": "baroque"}, "style", "vivid or natural"),
        ({"stream": True}, "stream", "Streaming is not offered"),
        ({"partial_images": 2}, "partial_images", "Streaming is not offered"),
    ],
)
def test_image_options_not_offered_are_400s_saying_what_is(api, options, param, words):
    body = {"model": "gpt-image-2", "prompt": "x", **options}
    error = assert_error(api.post("/v1/images/generations", body), 400, "invalid_request_error")
    assert error["param"] == param and words in error["message"]
    assert not Job.objects.exists()


def test_options_asked_for_are_honoured_even_when_the_upstream_ignores_them(
    api, fake, settings, alpha
):
    from tests.fake_pixapi import API_KEY

    settings.STUDIO_PROVIDER = "pixapi"
    settings.PIXAPI_BASE_URL, settings.PIXAPI_API_KEY = fake.url, API_KEY
    settings.PROVIDER_ALLOW_PRIVATE_URLS = True  # the fake serves its files on loopback
    body = {
        "model": "nano-banana",
        "prompt": "a kite",
        "output_format": "jpeg",
        "moderation": "low",
        "response_format": "b64_json",
    }
    r = api.post("/v1/images/generations", body)
    assert r.status_code == 200, r.content
    (call,) = fake.seen("POST", "/v1/images/generations")
    assert (call.body["output_format"], call.body["moderation"]) == ("jpeg", "low")
    # The fake answered a PNG: what was stored and returned is the JPEG asked for.
    assert (
        Image.open(io.BytesIO(base64.b64decode(r.json()["data"][0]["b64_json"]))).format == "JPEG"
    )
    assert Job.objects.get().assets.get().content_type == "image/jpeg"

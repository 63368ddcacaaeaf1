"""The OpenAPI document's examples are real answers, and every operation has what a client
generator needs: an operationId, a request and a response example, every error status.

`test_the_examples_are_what_the_api_answers` makes one real request per operation (and one
per error status) and compares the answers, with ids, times and signatures made stable, to
studio/api/examples.json, the file the document and /docs/api/ take their examples from.
After changing what the API answers, record them again:

    UPDATE_API_EXAMPLES=1 .venv/bin/python -m pytest tests/test_api_examples.py
"""

from __future__ import annotations

import json
import os
import re

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from studio.accounts.models import ApiKey, Membership
from studio.api import schema
from studio.errors import ERRORS
from studio.generations.models import Asset, Job
from tests.test_api import png
from tests.test_jobs import render_and_poll

EPOCH = 1767225600  # what every time in an example reads: 2026-01-01
PUBLIC = "https://studio.example.com"


class Stable:
    """Turn a real answer into its example: the same on every run."""

    def __init__(self):
        self.names: dict[str, str] = {}

    def _name(self, real: str, kind: str) -> str:
        if real not in self.names:
            count = sum(1 for v in self.names.values() if v.startswith(kind))
            self.names[real] = f"{kind}{count + 1:02d}"
        return self.names[real]

    def text(self, value: str) -> str:
        value = re.sub(
            r"task_[A-Za-z0-9]{20,}", lambda m: "task_" + self._name(m[0], "Example"), value
        )
        value = re.sub(
            r"http://testserver/media/([A-Za-z0-9]+)/",
            lambda m: f"{PUBLIC}/media/{self._name(m[1], 'Asset')}/",
            value,
        )
        value = re.sub(r"\?e=\d+&s=[\w-]+", f"?e={EPOCH + 21600}&s=…", value)
        return re.sub(r"req_[0-9a-f]{32}", "req_…", value)

    def __call__(self, value, key: str = ""):
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if key in ("created", "created_at", "completed_at") and isinstance(value, int) and value:
            return EPOCH
        if key == "b64_json":
            return value[:24] + "…"
        if key == "Content-Range":
            return re.sub(r"/\d+$", "/…", value)
        return self.text(value) if isinstance(value, str) else value


def test_the_examples_are_what_the_api_answers(api, client, alpha, alice, bob, settings, request):
    """One real request per operation and per error status; see the module docstring."""
    from studio.api.models import RateBucket

    settings.API_RATE_BURST = settings.API_RATE_LIMIT = 10_000
    stable = Stable()
    recorded: dict = {"errors": {}}
    raw: list[tuple[str, int, object]] = []  # (operationId or "errors", status, body)

    def record(op_id, response, *, request=None, parameters=None, content="json", headers=()):
        expected = 400 if op_id == "createVideoGenerationDeprecated" else (200, 206)
        assert response.status_code in (expected if isinstance(expected, tuple) else (expected,))
        example: dict = {"response": {"status": response.status_code}}
        if response.get("Content-Type", "").startswith("application/json"):
            body = response.json()
            raw.append((op_id, response.status_code, body))
            example["response"]["body"] = stable(body)
        if headers:
            example["response"]["headers"] = stable({h: response[h] for h in headers})
        if request is not None:
            example["request"] = stable(request)
            if content != "json":
                example["request_content"] = content
        if parameters:
            example["parameters"] = stable(parameters)
        recorded[op_id] = example
        return response

    def error(response, status: int):
        assert response.status_code == status, response.content
        raw.append(("errors", response.status_code, response.json()))
        recorded["errors"][str(response.status_code)] = stable(response.json())

    image = {"model": "gpt-image-2", "prompt": "a red bicycle", "quality": "low"}
    record("createImage", api.post("/v1/images/generations", image), request=image)
    edit = {"model": "nano-banana", "prompt": "make it night"}
    record(
        "createImageEdit",
        api.multipart("/v1/images/edits", {**edit, "image": png()}),
        request={**edit, "image": "(the image file, in.png)"},
        content="multipart",
    )
    task = {"model": "nano-banana", "prompt": "a lighthouse", "size": "1K"}
    queued = record(
        "createImageTask", api.post("/v1/async/images/generations", task), request=task
    ).json()["id"]
    record(
        "createImageEditTask",
        api.multipart("/v1/async/images/edits", {**edit, "image": png()}),
        request={**edit, "image": "(the image file, in.png)"},
        content="multipart",
    )
    video = {"model": "veo", "prompt": "waves at dusk", "duration": 2, "size": "16:9"}
    video_task = record(
        "createVideoTask", api.post("/v1/async/videos/generations", video), request=video
    ).json()["id"]
    render_and_poll(Job.objects.get(public_id=video_task))
    old = {"model": "veo", "prompt": "waves at dusk"}
    record("createVideoGenerationDeprecated", api.post("/v1/videos/generations", old), request=old)
    record(
        "listTasks",
        api.get(f"/v1/tasks?limit=2&after={queued}"),
        parameters={"limit": 2, "after": queued},
    )
    record("retrieveTask", api.get(f"/v1/tasks/{video_task}"), parameters={"task_id": video_task})
    record("cancelTask", api.post(f"/v1/tasks/{queued}/cancel"), parameters={"task_id": queued})
    record("listModels", api.get("/v1/models"))
    record(
        "retrieveModel", api.get("/v1/models/nano-banana"), parameters={"model_id": "nano-banana"}
    )
    openai_video = {"model": "wan", "prompt": "a kite over the sea", "seconds": "1"}
    made = record(
        "createVideo",
        api.multipart("/v1/videos", {**openai_video, "size": "1280x720"}),
        request={**openai_video, "size": "1280x720"},
        content="multipart",
    ).json()["id"]
    render_and_poll(Job.objects.get(public_id=made))
    record(
        "listVideos",
        api.get(f"/v1/videos?limit=1&order=desc&after={made}"),
        parameters={"limit": 1, "order": "desc", "after": made},
    )
    record("retrieveVideo", api.get(f"/v1/videos/{made}"), parameters={"video_id": made})
    record(
        "downloadVideoContent",
        api.get(f"/v1/videos/{made}/content?variant=video", HTTP_RANGE="bytes=0-1023"),
        parameters={"video_id": made, "variant": "video", "Range": "bytes=0-1023"},
        headers=("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges"),
    )
    record(
        "deleteVideo", api.generic("DELETE", f"/v1/videos/{made}"), parameters={"video_id": made}
    )

    # One real answer for every error status.
    too_many = {"model": "nano-banana", "prompt": "x", "n": 11}
    error(api.post("/v1/images/generations", too_many), 400)
    error(client.get("/v1/models"), 401)
    huge = {"model": "gpt-image-2", "prompt": "x", "size": "3840x2160", "n": 10}
    error(api.post("/v1/images/generations", huge), 402)
    Membership.objects.filter(user=bob).update(role="viewer")
    _, viewer = ApiKey.create(user=bob, workspace=alpha, name="viewer")
    as_viewer = {"HTTP_AUTHORIZATION": f"Bearer {viewer}"}
    error(
        client.post("/v1/images/generations", json.dumps(task), "application/json", **as_viewer),
        403,
    )
    error(api.post("/v1/images/generations", {"model": "dall-e-9", "prompt": "x"}), 404)
    error(api.get("/v1/images/generations"), 405)
    error(
        api.generic(
            "POST",
            "/v1/images/edits",
            content_type="multipart/form-data; boundary=x",
            CONTENT_LENGTH=str(settings.API_MAX_BODY_BYTES + 1),
        ),
        413,
    )
    request.getfixturevalue("refusing_upstream")
    error(api.post("/v1/images/generations", {"model": "nano-banana", "prompt": "a kite"}), 422)
    settings.STUDIO_PROVIDER = "local"
    error(_lost_file(api), 500)
    settings.LOCAL_PROVIDER_FAIL_RATE = 1.0
    error(api.post("/v1/images/generations", {"model": "nano-banana", "prompt": "a kite"}), 503)
    RateBucket.objects.all().delete()  # a full bucket of one, refilled once a minute
    settings.API_RATE_BURST = settings.API_RATE_LIMIT = 1
    api.get("/v1/models")
    error(api.get("/v1/models"), 429)

    if os.environ.get("UPDATE_API_EXAMPLES"):
        schema.EXAMPLES_FILE.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
        schema.examples.cache_clear()
    assert recorded == schema.examples(), (
        "The API answers differently from studio/api/examples.json. If that is intended, "
        "record them again: UPDATE_API_EXAMPLES=1 .venv/bin/python -m pytest "
        "tests/test_api_examples.py"
    )
    _validate(raw)


def _lost_file(api):
    """A 500: the storage lost a finished job's file before its repeat was answered."""
    from django.core.files.storage import default_storage

    body = {"model": "nano-banana", "prompt": "x", "response_format": "b64_json"}
    api.post("/v1/images/generations", body, HTTP_IDEMPOTENCY_KEY="lost")
    default_storage.delete(Asset.objects.latest("id").file.name)
    return api.post("/v1/images/generations", body, HTTP_IDEMPOTENCY_KEY="lost")


def _validate(raw) -> None:
    """Every real answer matches the document's schema for its operation and status."""
    document = schema.document()
    registry = Registry().with_resource("urn:api", DRAFT202012.create_resource(document))
    operations = {op.id: op for op in schema.OPERATIONS}
    for op_id, status, body in raw:
        name = "Error" if op_id == "errors" or status >= 400 else operations[op_id].ok
        ref = {"$ref": f"urn:api#/components/schemas/{name}"}
        jsonschema.Draft202012Validator(ref, registry=registry).validate(body)


def test_every_operation_has_an_id_examples_and_every_error_it_can_answer():
    document = schema.document()
    ids = []
    documented = set()
    for path, item in document["paths"].items():
        for method, op in item.items():
            ids.append(op["operationId"])
            assert op["summary"], (method, path)
            answers = [r for status, r in op["responses"].items() if status < "300"]
            examples = [
                r["content"][media].get("example")
                for r in answers
                for media in r.get("content", {})
                if "json" in media
            ] + [h.get("example") for r in answers for h in r.get("headers", {}).values()]
            assert any(examples) or op.get("deprecated"), (method, path)
            if "requestBody" in op:
                assert any("example" in c for c in op["requestBody"]["content"].values())
            for p in op["parameters"]:
                assert p["name"] == "Idempotency-Key" or "example" in p, (method, path, p)
            for status, response in op["responses"].items():
                if response.get("content", {}).get("application/json", {}).get("schema") == {
                    "$ref": "#/components/schemas/Error"
                }:
                    documented.add(int(status))
                    assert (
                        response["description"]
                        and response["content"]["application/json"]["example"]["error"]["code"]
                    )
    assert len(ids) == len(set(ids)) == len(schema.OPERATIONS)
    assert documented == {row.status for row in ERRORS.values()}


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_documented_where_it_is_sent(status):
    for item in schema.document()["paths"].values():
        for op in item.values():
            if str(status) in op["responses"]:
                assert "Retry-After" in op["responses"][str(status)]["headers"]


def test_the_examples_file_is_tidy():
    """Nothing in it that changes from run to run (it is compared whole)."""
    text = schema.EXAMPLES_FILE.read_text()
    assert "testserver" not in text and not re.search(r"task_[A-Za-z0-9]{20,}", text)
    assert text.endswith("}\n")


def test_the_docs_page_is_built_from_the_document(client, db):
    from django.utils.html import escape

    page = client.get("/docs/api/").content.decode()
    for op in schema.OPERATIONS:
        assert f'id="op-{op.id}"' in page and escape(op.summary) in page
    # The recorded request, as a curl command, and the recorded answer.
    assert "-d &#x27;{&quot;model&quot;: &quot;gpt-image-2&quot;" in page
    assert "task_Example01" in page
    # The conventions a client needs.
    assert "answer <em>both</em> <code>url</code> and <code>b64_json</code>" in page
    assert "<code>standard</code> means <code>medium</code>" in page
    assert "<code>gemini-3.1-flash-image-preview-2k</code>" in page

"""The OpenAPI 3.1 document of /v1, served at /v1/openapi.json; /docs/api/ is built from it.

Written by hand next to the views it describes, as one table of operations (OPERATIONS):
each has an operationId, a request and a response example, and every error status it can
answer, described from the error table (studio/errors.py). The examples are real: they are
recorded from real requests by tests/test_api_examples.py into examples.json, which fails
when they no longer match what the API answers. Tests validate real responses against the
document and fuzz the API with it (schemathesis), so the two can't drift apart unnoticed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from studio.api import videos
from studio.api.http import MAX_JSON_DEPTH
from studio.api.models import IDEMPOTENCY_KEY_MAX
from studio.api.views import RESPONSE_FORMATS, STYLES, TASK_STATUS, TASKS_LIMIT
from studio.catalog import tables
from studio.errors import ERRORS
from studio.generations.models import JobKind

EXAMPLES_FILE = Path(__file__).with_name("examples.json")


def _model_ids(kind: str) -> list[str]:
    """Canonical ids, aliases and per-tier ids of the models of `kind`."""
    ids = [m.id for m in tables.MODELS.values() if m.kind == kind]
    aliases = [alias for alias, canonical in tables.ALIASES.items() if canonical in ids]
    return ids + aliases + [tier_id for tier_id, (m, _) in tables.TIER_IDS.items() if m in ids]


IMAGE_MODEL_IDS = _model_ids(tables.IMAGE)
VIDEO_MODEL_IDS = _model_ids(tables.VIDEO)
PROMPT = {"type": "string", "minLength": 1, "maxLength": tables.PROMPT_MAX_LENGTH}
N = {"type": "integer", "minimum": tables.N_RANGE[0], "maximum": tables.N_RANGE[1]}
GPT = tables.MODELS["gpt-image-2"]
VEO = tables.MODELS["veo"]
CREDITS_STRING = {"type": "string", "pattern": r"^\d+\.\d\d$"}
BINARY = {"type": "string", "format": "binary"}
TIMESTAMP = {"type": "integer", "description": "Unix seconds."}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _one_of(values, description: str = "") -> dict:
    schema = {"type": "string", "enum": list(values)}
    return {**schema, "description": description} if description else schema


def _video_size(default: str) -> dict:
    presets = ", ".join(tables.VIDEO_PRESETS)
    return {
        "type": "string",
        "default": default,
        "description": f"WIDTHxHEIGHT (even), or {presets}.",
    }


def _enumerate(values) -> str:
    values = list(values)
    return ", ".join(values[:-1]) + " or " + values[-1]


# ---- the shapes ------------------------------------------------------------------------------

IMAGE_OPTIONS = {
    "output_format": _one_of(
        tables.OUTPUT_FORMATS, "The stored file and the answer are this format (default png)."
    ),
    "output_compression": {
        "type": "integer",
        "minimum": tables.OUTPUT_COMPRESSION_RANGE[0],
        "maximum": tables.OUTPUT_COMPRESSION_RANGE[1],
        "description": "JPEG or WebP quality in percent; PNG ignores it.",
    },
    "background": _one_of(
        tables.BACKGROUNDS,
        f"transparent needs output_format {_enumerate(tables.TRANSPARENT_FORMATS)}; passed "
        "upstream, and honoured by the local renderer.",
    ),
    "moderation": _one_of(tables.MODERATIONS, "Passed upstream."),
    "input_fidelity": _one_of(tables.INPUT_FIDELITIES, "Edits: passed upstream."),
    "style": _one_of(STYLES, "DALL·E 3's: accepted and ignored."),
    "stream": {
        "type": "boolean",
        "description": "true is refused (400): streaming is not offered.",
    },
    "partial_images": {
        "type": "integer",
        "description": "Anything but 0 is refused (400): streaming is not offered.",
    },
    "user": {"type": "string"},
    "safety_identifier": {"type": "string", "description": "Accepted and ignored."},
}
IMAGE_FIELDS = {
    "model": {
        "type": "string",
        "enum": IMAGE_MODEL_IDS,
        "description": "A canonical id, an alias, or a credit-table id such as "
        "gemini-3.1-flash-image-preview-2k (that model at that tier).",
    },
    "prompt": PROMPT,
    "n": {**N, "default": 1},
    "size": {
        "type": "string",
        "default": tables.DEFAULT_IMAGE_SIZE,
        "description": "WIDTHxHEIGHT, a ratio such as 16:9, auto, or (Gemini) 512, 1K, 2K, 4K.",
    },
    "quality": {
        "type": "string",
        "description": f"GPT models: {', '.join(GPT.qualities)} (standard reads as medium, hd "
        "as high); Gemini models ignore it.",
    },
    "response_format": {
        "type": "string",
        "enum": list(RESPONSE_FORMATS),
        "description": "Without it: both url and b64_json for GPT models and every edit, url "
        "for Gemini generations.",
    },
    **IMAGE_OPTIONS,
}
VIDEO_CREDITS = "You pay per second delivered; see GET /v1/models."

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "code"],
                "additionalProperties": False,
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]},
                    "request_id": {"type": ["string", "null"]},
                },
            }
        },
    },
    "Usage": {
        "type": "object",
        "description": "The same in every answer about a job (sync images, tasks, videos): "
        "OpenAI's image token counts, which the studio doesn't meter (always 0), then the "
        "credits charged (0 until completed, and when failed) and reserved.",
        "required": [
            "input_tokens",
            "input_tokens_details",
            "output_tokens",
            "total_tokens",
            "credits",
            "reserved",
        ],
        "additionalProperties": False,
        "properties": {
            "input_tokens": {"type": "integer", "const": 0},
            "input_tokens_details": {
                "type": "object",
                "required": ["image_tokens", "text_tokens"],
                "properties": {
                    "image_tokens": {"type": "integer", "const": 0},
                    "text_tokens": {"type": "integer", "const": 0},
                },
            },
            "output_tokens": {"type": "integer", "const": 0},
            "total_tokens": {"type": "integer", "const": 0},
            "credits": CREDITS_STRING,
            "reserved": CREDITS_STRING,
        },
    },
    "ImageGenerationRequest": {
        "type": "object",
        "required": ["model", "prompt"],
        "additionalProperties": False,
        "properties": IMAGE_FIELDS,
    },
    "ImageEditRequest": {
        "type": "object",
        "required": ["model", "prompt"],
        "additionalProperties": False,
        "properties": {
            **IMAGE_FIELDS,
            "image": {**BINARY, "description": "The image to edit (or send several as image[])."},
            "image[]": {"type": "array", "items": BINARY, "maxItems": tables.MAX_EDIT_IMAGES},
            "mask": {**BINARY, "description": "PNG; fully transparent pixels mark what to change."},
        },
    },
    "VideoGenerationRequest": {
        "type": "object",
        "required": ["model", "prompt"],
        "additionalProperties": False,
        "properties": {
            "model": {"type": "string", "enum": VIDEO_MODEL_IDS},
            "prompt": PROMPT,
            "duration": {
                "type": "integer",
                "minimum": tables.DURATION_RANGE[0],
                "maximum": tables.DURATION_RANGE[1],
                "default": tables.DEFAULT_DURATION,
            },
            "size": _video_size(tables.DEFAULT_VIDEO_SIZE),
            "quality": {
                "type": "string",
                "enum": list(VEO.qualities),
                "description": f"Veo only; default {VEO.default_quality}.",
            },
            "input_image": {
                "type": "string",
                "format": "uri",
                "description": "An image URL to animate (image-to-video).",
            },
            "user": {"type": "string"},
        },
    },
    "VideoCreateRequest": {
        "type": "object",
        "required": ["model", "prompt"],
        "additionalProperties": False,
        "properties": {
            "model": {"type": "string", "enum": VIDEO_MODEL_IDS},
            "prompt": PROMPT,
            "seconds": {
                "type": ["string", "integer"],
                "pattern": r"^\d+$",
                "default": str(tables.OPENAI_VIDEO_SECONDS),
                "description": f"Whole seconds, {tables.DURATION_RANGE[0]} to "
                f"{tables.DURATION_RANGE[1]}.",
            },
            "size": _video_size(tables.OPENAI_VIDEO_SIZE),
            "input_reference": {
                "description": "The image to animate: a file (multipart), or in JSON "
                '{"image_url": an http(s) URL or a base64 data URL}.',
                "oneOf": [
                    BINARY,
                    {
                        "type": "object",
                        "required": ["image_url"],
                        "properties": {"image_url": {"type": "string"}},
                    },
                ],
            },
            "user": {"type": "string"},
        },
    },
    "ImagesResponse": {
        "type": "object",
        "required": ["created", "data", "usage"],
        "properties": {
            "created": TIMESTAMP,
            "data": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": "url, b64_json or both: exactly the response_format asked "
                    "for; without one, both for GPT image models and every edit, url for "
                    "Gemini generations.",
                    "properties": {
                        "url": {"type": "string", "format": "uri"},
                        "b64_json": {"type": "string"},
                    },
                    "anyOf": [{"required": ["url"]}, {"required": ["b64_json"]}],
                    "additionalProperties": False,
                },
            },
            "usage": _ref("Usage"),
        },
    },
    "Submission": {
        "type": "object",
        "required": ["status", "id", "progress", "created_at", "model"],
        "additionalProperties": False,
        "properties": {
            "status": {"const": "submitted"},
            "id": {"type": "string", "pattern": "^task_"},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "created_at": TIMESTAMP,
            "model": {"type": "string", "enum": list(tables.MODELS)},
        },
    },
    "Task": {
        "type": "object",
        "required": ["id", "object", "status", "progress", "created_at", "model", "usage"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": "^task_"},
            "object": {"const": "task"},
            "status": {"type": "string", "enum": sorted(set(TASK_STATUS.values()))},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "created_at": TIMESTAMP,
            "model": {"type": "string", "enum": list(tables.MODELS)},
            "kind": {"type": "string", "enum": list(JobKind.values)},
            "usage": _ref("Usage"),
            "result": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["url"],
                            "properties": {
                                "url": {"type": "string", "format": "uri"},
                                "type": {"type": "string", "enum": ["image", "video"]},
                                "width": {"type": "integer"},
                                "height": {"type": "integer"},
                                "duration": {"type": "number"},
                            },
                        },
                    }
                },
            },
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "TaskList": {
        "type": "object",
        "required": ["object", "data", "has_more"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": _ref("Task")},
            "has_more": {"type": "boolean"},
            "last_id": {"type": ["string", "null"]},
        },
    },
    "Video": {
        "type": "object",
        "description": "OpenAI's Video object. " + VIDEO_CREDITS,
        "required": ["id", "object", "model", "status", "progress", "created_at", "seconds"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "pattern": "^task_"},
            "object": {"const": "video"},
            "model": {"type": "string", "enum": list(tables.MODELS)},
            "status": {"type": "string", "enum": sorted(set(videos.STATUS.values()))},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "created_at": TIMESTAMP,
            "completed_at": {"type": ["integer", "null"]},
            "expires_at": {"type": "null", "description": "Kept until deleted."},
            "prompt": {"type": "string"},
            "seconds": {"type": "string", "pattern": r"^\d+$"},
            "size": {"type": "string", "pattern": r"^\d+x\d+$"},
            "remixed_from_video_id": {"type": "null"},
            "error": {
                "type": ["object", "null"],
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
            "usage": _ref("Usage"),
        },
    },
    "VideoList": {
        "type": "object",
        "required": ["object", "data", "has_more"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": _ref("Video")},
            "first_id": {"type": ["string", "null"]},
            "last_id": {"type": ["string", "null"]},
            "has_more": {"type": "boolean"},
        },
    },
    "VideoDeleted": {
        "type": "object",
        "required": ["id", "object", "deleted"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "video.deleted"},
            "deleted": {"const": True},
        },
    },
    "Model": {
        "type": "object",
        "required": ["id", "object", "created", "owned_by", "kind", "endpoints", "pricing"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "model"},
            "created": {"type": "integer"},
            "owned_by": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": ["image", "video"]},
            "aliases": {"type": "array", "items": {"type": "string"}},
            "tier_ids": {
                "type": "object",
                "description": "{tier: the credit-table id that means this model at it}.",
                "additionalProperties": {"type": "string"},
            },
            "endpoints": {"type": "array", "items": {"type": "string"}},
            "description": {"type": "string"},
            "pricing": {
                "type": "object",
                "required": ["unit", "credits"],
                "properties": {
                    "unit": {"type": "string", "enum": ["image", "second"]},
                    "credits": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
    "ModelList": {
        "type": "object",
        "required": ["object", "data"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": _ref("Model")},
        },
    },
}


# ---- the operations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    id: str  # operationId, and the key of its examples in examples.json
    summary: str
    ok: str | None  # the schema of the 200 answer (None: see `responses`)
    errors: tuple[int, ...]  # what it may answer besides, all in the Error shape
    request: str | None = None  # the body's schema
    # "json", "multipart", or both ("json multipart")
    content: str = "json"
    parameters: tuple[dict, ...] = ()
    description: str = ""
    ok_headers: tuple[str, ...] = ()
    responses: dict = field(default_factory=dict)  # other answers, verbatim
    deprecated: bool = False


# Any request may be refused for its key (401), its method (405), its size (413), its rate
# (429) or our own failure (500).
EVERY = (401, 405, 413, 429, 500)
CREATING = (400, 402, 403, 404, *EVERY)  # 404: an unknown model
SYNC = (*CREATING, 422, 503)  # waits for the upstream model, which may refuse or be down
LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {
        "type": "integer",
        "minimum": TASKS_LIMIT[0],
        "maximum": TASKS_LIMIT[1],
        "default": TASKS_LIMIT[2],
    },
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
    "description": "Repeat within 24 h: the first call's result, not a second charge.",
}


def _path_param(name: str, what: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": what,
    }


def _after(noun: str) -> dict:
    return {
        "name": "after",
        "in": "query",
        "schema": {"type": "string"},
        "description": f"A {noun} id: the page after it.",
    }


TASK_ID = _path_param("task_id", "A task id (task_…).")
VIDEO_ID = _path_param("video_id", "A video id: the id of its task.")

OPERATIONS = (
    Operation(
        "post",
        "/v1/images/generations",
        "createImage",
        "Generate images (waits for them)",
        "ImagesResponse",
        SYNC,
        "ImageGenerationRequest",
        parameters=(IDEMPOTENCY,),
        ok_headers=("x-credits-charged",),
        description="Makes n images and answers when they are ready, within API_SYNC_WAIT "
        "seconds; after that a 503 names the task (x-task-id) still being made.",
    ),
    Operation(
        "post",
        "/v1/images/edits",
        "createImageEdit",
        "Edit an image (waits for the result)",
        "ImagesResponse",
        SYNC,
        "ImageEditRequest",
        "multipart",
        parameters=(IDEMPOTENCY,),
        ok_headers=("x-credits-charged",),
        description="The image as image (one file) or image[] (several: the first is edited, "
        "the others are references), an optional mask. Edits cost what generations cost.",
    ),
    Operation(
        "post",
        "/v1/async/images/generations",
        "createImageTask",
        "Generate images as a task",
        "Submission",
        CREATING,
        "ImageGenerationRequest",
        parameters=(IDEMPOTENCY,),
    ),
    Operation(
        "post",
        "/v1/async/images/edits",
        "createImageEditTask",
        "Edit an image as a task",
        "Submission",
        CREATING,
        "ImageEditRequest",
        "multipart",
        parameters=(IDEMPOTENCY,),
    ),
    Operation(
        "post",
        "/v1/async/videos/generations",
        "createVideoTask",
        "Generate a video as a task (Pixapi's route)",
        "Submission",
        CREATING,
        "VideoGenerationRequest",
        parameters=(IDEMPOTENCY,),
        description=VIDEO_CREDITS,
    ),
    Operation(
        "post",
        "/v1/videos/generations",
        "createVideoGenerationDeprecated",
        "Not offered: use POST /v1/async/videos/generations or POST /v1/videos",
        None,
        (400, *EVERY),
        deprecated=True,
        description="Always a 400 naming the routes to use.",
    ),
    Operation(
        "get",
        "/v1/tasks",
        "listTasks",
        "Your recent tasks, newest first",
        "TaskList",
        (400, *EVERY),
        parameters=(LIMIT, _after("task")),
    ),
    Operation(
        "get",
        "/v1/tasks/{task_id}",
        "retrieveTask",
        "A task's status, progress and result",
        "Task",
        (404, *EVERY),
        parameters=(TASK_ID,),
        ok_headers=("x-credits-charged",),
    ),
    Operation(
        "post",
        "/v1/tasks/{task_id}/cancel",
        "cancelTask",
        "Cancel a queued task, or a running one whose model can stop; its credits are released",
        "Task",
        (400, 403, 404, *EVERY),
        parameters=(TASK_ID,),
        description="For the task's maker, or an admin or owner of the workspace.",
    ),
    Operation(
        "get", "/v1/models", "listModels", "The model catalog with prices", "ModelList", EVERY
    ),
    Operation(
        "get",
        "/v1/models/{model_id}",
        "retrieveModel",
        "One model; an alias or a credit-table id answers with its canonical entry",
        "Model",
        (404, *EVERY),
        parameters=(_path_param("model_id", "A model id, alias or credit-table id."),),
    ),
    Operation(
        "post",
        "/v1/videos",
        "createVideo",
        "Generate a video (OpenAI's Videos API)",
        "Video",
        CREATING,
        "VideoCreateRequest",
        "multipart json",
        parameters=(IDEMPOTENCY,),
        description="The same job as POST /v1/async/videos/generations, in OpenAI's shape. "
        + VIDEO_CREDITS,
    ),
    Operation(
        "get",
        "/v1/videos",
        "listVideos",
        "Your videos (OpenAI's Videos API)",
        "VideoList",
        (400, *EVERY),
        parameters=(
            LIMIT,
            _after("video"),
            {"name": "order", "in": "query", "schema": _one_of(("desc", "asc"))},
        ),
    ),
    Operation(
        "get",
        "/v1/videos/{video_id}",
        "retrieveVideo",
        "A video's status and progress",
        "Video",
        (404, *EVERY),
        parameters=(VIDEO_ID,),
    ),
    Operation(
        "delete",
        "/v1/videos/{video_id}",
        "deleteVideo",
        "Stop a video being made, or take a finished one out of the gallery",
        "VideoDeleted",
        (400, 403, 404, *EVERY),
        parameters=(VIDEO_ID,),
        description="A video still being made is cancelled, its credits released (400 when "
        "its model can't stop); a finished one's file is deleted and it leaves this API. For "
        "its maker, or an admin or owner.",
    ),
    Operation(
        "get",
        "/v1/videos/{video_id}/content",
        "downloadVideoContent",
        "The finished video's MP4, or its poster",
        None,
        (400, 404, *EVERY),
        parameters=(
            VIDEO_ID,
            {
                "name": "variant",
                "in": "query",
                "schema": _one_of(videos.VARIANTS, "thumbnail: the poster, a JPEG."),
            },
            {
                "name": "Range",
                "in": "header",
                "schema": {"type": "string"},
                "description": "One byte range (bytes=0-1023): a 206 with that part.",
            },
        ),
        responses={
            "200": {
                "description": "The MP4 (or the JPEG poster).",
                "content": {"video/mp4": {"schema": BINARY}, "image/jpeg": {"schema": BINARY}},
            },
            "206": {
                "description": "The byte range asked for; Content-Range says which.",
                "content": {"video/mp4": {"schema": BINARY}, "image/jpeg": {"schema": BINARY}},
            },
            "416": {"description": "A range past the end; Content-Range: bytes */<size>."},
        },
    ),
)

HEADERS = {
    "x-request-id": {"schema": {"type": "string"}, "description": "Repeated in errors."},
    "x-credits-charged": {
        "schema": CREDITS_STRING,
        "description": "Credits charged, two decimals.",
    },
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."},
    "x-task-id": {
        "schema": {"type": "string"},
        "description": "The task still being made, to poll with GET /v1/tasks/{id}.",
    },
}


@cache
def examples() -> dict:
    """The recorded examples: {operationId: {request, parameters, response}, "errors": …}."""
    return json.loads(EXAMPLES_FILE.read_text())


def _description(status: int) -> str:
    """The error table's rows with this status, as one sentence per row."""
    rows = [(name, row) for name, row in ERRORS.items() if row.status == status]
    return " ".join(f"{name}: {row.description} (retry: {row.retry})." for name, row in rows)


def _error(status: int, op: Operation) -> dict:
    response = {
        "description": _description(status),
        "headers": {"x-request-id": HEADERS["x-request-id"]},
        "content": {
            "application/json": {
                "schema": _ref("Error"),
                "example": examples()["errors"][str(status)],
            }
        },
    }
    if ERRORS_WITH_RETRY_AFTER.get(status):
        response["headers"]["Retry-After"] = HEADERS["Retry-After"]
    if status == 503 and op.id in ("createImage", "createImageEdit"):
        response["headers"]["x-task-id"] = HEADERS["x-task-id"]
    return response


ERRORS_WITH_RETRY_AFTER = {row.status: True for row in ERRORS.values() if row.retry_after}


def _parameters(op: Operation, recorded: dict) -> list[dict]:
    values = recorded.get("parameters", {})
    return [
        {**p, "example": values[p["name"]]} if p["name"] in values else p for p in op.parameters
    ]


def _request_body(op: Operation, recorded: dict) -> dict:
    content = {}
    for kind in op.content.split():
        media = "application/json" if kind == "json" else "multipart/form-data"
        content[media] = {"schema": _ref(op.request) if op.request else {"type": "object"}}
        if kind == recorded.get("request_content", "json"):
            content[media]["example"] = recorded["request"]
    return {"required": True, "content": content}


def _operation(op: Operation) -> dict:
    recorded = examples()[op.id]
    answer = recorded["response"]
    responses = {}
    if op.ok:
        responses["200"] = {
            "description": "OK",
            "headers": {name: HEADERS[name] for name in ("x-request-id", *op.ok_headers)},
            "content": {"application/json": {"schema": _ref(op.ok), "example": answer["body"]}},
        }
    for status, response in op.responses.items():
        responses[status] = {"headers": {"x-request-id": HEADERS["x-request-id"]}, **response}
    if "headers" in answer:  # a file: what its real answer's headers were
        responses[str(answer["status"])]["headers"].update(
            {
                name: {"schema": {"type": "string"}, "example": v}
                for name, v in answer["headers"].items()
            }
        )
    responses.update({str(status): _error(status, op) for status in sorted(op.errors)})
    operation = {
        "operationId": op.id,
        "summary": op.summary,
        "parameters": _parameters(op, recorded),
        "responses": responses,
    }
    if op.description:
        operation["description"] = op.description
    if op.deprecated:
        operation["deprecated"] = True
    if "request" in recorded:
        operation["requestBody"] = _request_body(op, recorded)
    return operation


def document() -> dict:
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pixapi Studio API",
            "version": "1",
            "description": "The Pixapi-compatible API of this studio, with OpenAI's Videos API "
            "beside it. Authenticate with Authorization: Bearer <key> (create keys on the API "
            "keys page). Prices are in credits; 1 credit = $0.01. Bodies may be sent chunked; "
            f"JSON nests at most {MAX_JSON_DEPTH} levels.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": paths,
    }


@require_GET
def openapi(request):
    return JsonResponse(document(), json_dumps_params={"indent": 1})

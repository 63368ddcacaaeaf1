"""The OpenAPI 3 document of /v1, served at /v1/openapi.json.

Written by hand next to the views it describes; tests validate real responses against it and
fuzz the API with it (schemathesis), so the two can't drift apart unnoticed.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from studio.api.models import IDEMPOTENCY_KEY_MAX
from studio.api.views import RESPONSE_FORMATS, TASK_STATUS, TASKS_LIMIT
from studio.catalog import tables
from studio.errors import ERRORS
from studio.generations.models import JobKind


def _model_ids(kind: str) -> list[str]:
    """Canonical ids, aliases and per-tier ids of the models of `kind`."""
    ids = [m.id for m in tables.MODELS.values() if m.kind == kind]
    aliases = [alias for alias, canonical in tables.ALIASES.items() if canonical in ids]
    return ids + aliases + [tier_id for tier_id, (m, _) in tables.TIER_IDS.items() if m in ids]


IMAGE_MODEL_IDS = _model_ids(tables.IMAGE)
VIDEO_MODEL_IDS = _model_ids(tables.VIDEO)
PROMPT = {"type": "string", "minLength": 1, "maxLength": tables.PROMPT_MAX_LENGTH}
N = {"type": "integer", "minimum": tables.N_RANGE[0], "maximum": tables.N_RANGE[1]}
GPT_QUALITIES = ", ".join(tables.MODELS["gpt-image-2"].qualities)
VEO = tables.MODELS["veo"]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _description(status: int) -> str:
    """The error table's rows with this status, as one sentence per row."""
    rows = [(name, row) for name, row in ERRORS.items() if row.status == status]
    return " ".join(f"{name}: {row.description} (retry: {row.retry})." for name, row in rows)


def _errors(*statuses: int) -> dict:
    out = {}
    for status in statuses:
        response = {"description": _description(status), **_json(_ref("Error"))}
        if status == 429:
            response["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        out[str(status)] = response
    return out


COMMON_ERRORS = (400, 401, 405, 413, 429, 500)
CREDITS_STRING = {"type": "string", "pattern": r"^\d+\.\d\d$"}
REQUEST_ID = {"x-request-id": {"schema": {"type": "string"}, "description": "Echoed in errors."}}
CREDITS = {
    "x-credits-charged": {
        "schema": {"type": "string"},
        "description": "Credits charged, two decimals.",
    }
}

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
        "description": "OpenAI's image token counts, which the studio doesn't meter (always "
        "0), then the credits: charged (0 until completed, and when failed) and reserved.",
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
        "properties": {
            "model": {"type": "string", "enum": IMAGE_MODEL_IDS},
            "prompt": PROMPT,
            "n": {**N, "default": 1},
            "size": {
                "type": "string",
                "default": tables.DEFAULT_IMAGE_SIZE,
                "description": "WIDTHxHEIGHT, a ratio such as 16:9, auto, or (Gemini) "
                "512, 1K, 2K, 4K.",
            },
            "quality": {"type": "string", "description": f"GPT models: {GPT_QUALITIES}."},
            "response_format": {
                "type": "string",
                "enum": list(RESPONSE_FORMATS),
                "default": RESPONSE_FORMATS[0],
            },
            "user": {"type": "string"},
        },
    },
    "ImageEditRequest": {
        "type": "object",
        "required": ["model", "prompt"],
        "additionalProperties": False,
        "properties": {
            "model": {"type": "string", "enum": IMAGE_MODEL_IDS},
            "prompt": PROMPT,
            "image": {
                "type": "string",
                "format": "binary",
                "description": "The image to edit (or send several as image[]).",
            },
            "image[]": {
                "type": "array",
                "items": {"type": "string", "format": "binary"},
                "maxItems": tables.MAX_EDIT_IMAGES,
            },
            "mask": {
                "type": "string",
                "format": "binary",
                "description": "PNG; fully transparent pixels mark what to change.",
            },
            "n": N,
            "size": {"type": "string"},
            "quality": {"type": "string"},
            "response_format": {"type": "string", "enum": list(RESPONSE_FORMATS)},
            "user": {"type": "string"},
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
            "size": {
                "type": "string",
                "default": tables.DEFAULT_VIDEO_SIZE,
                "description": "WIDTHxHEIGHT (even), or " + ", ".join(tables.VIDEO_PRESETS) + ".",
            },
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
    "ImagesResponse": {
        "type": "object",
        "required": ["created", "data", "usage"],
        "properties": {
            "created": {"type": "integer"},
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
            "created_at": {"type": "integer"},
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
            "created_at": {"type": "integer"},
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
    "Model": {
        "type": "object",
        "required": ["id", "object", "kind", "endpoints", "pricing"],
        "properties": {
            "id": {"type": "string"},
            "object": {"const": "model"},
            "created": {"type": "integer"},
            "owned_by": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"type": "string", "enum": ["image", "video"]},
            "aliases": {"type": "array", "items": {"type": "string"}},
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


def _post(
    summary: str,
    request_schema: str,
    ok: str,
    *,
    multipart: bool = False,
    extra_errors=(402, 403, 404, 422, 503),
    ok_headers: dict | None = None,
) -> dict:
    body = (
        {"multipart/form-data": {"schema": _ref(request_schema)}}
        if multipart
        else {"application/json": {"schema": _ref(request_schema)}}
    )
    return {
        "post": {
            "summary": summary,
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
                    "description": "Repeat within 24 h: the first call's result, "
                    "not a second charge.",
                }
            ],
            "requestBody": {"required": True, "content": body},
            "responses": {
                "200": {
                    "description": "OK",
                    "headers": {**REQUEST_ID, **(ok_headers or {})},
                    **_json(_ref(ok)),
                },
                **_errors(*sorted(set(COMMON_ERRORS + tuple(extra_errors)))),
            },
        }
    }


def _task_param() -> list:
    return [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}]


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pixapi Studio API",
            "version": "1",
            "description": "The Pixapi-compatible API of this studio. Authenticate with "
            "Authorization: Bearer <key> (create keys on the API keys "
            "page). Prices are in credits; 1 credit = $0.01.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/v1/images/generations": _post(
                "Generate images (waits for them)",
                "ImageGenerationRequest",
                "ImagesResponse",
                ok_headers=CREDITS,
            ),
            "/v1/images/edits": _post(
                "Edit an image (waits for the result)",
                "ImageEditRequest",
                "ImagesResponse",
                multipart=True,
                ok_headers=CREDITS,
            ),
            "/v1/async/images/generations": _post(
                "Generate images as a task", "ImageGenerationRequest", "Submission"
            ),
            "/v1/async/images/edits": _post(
                "Edit an image as a task", "ImageEditRequest", "Submission", multipart=True
            ),
            "/v1/async/videos/generations": _post(
                "Generate a video as a task", "VideoGenerationRequest", "Submission"
            ),
            "/v1/tasks": {
                "get": {
                    "summary": "Your recent tasks, newest first",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": TASKS_LIMIT[0],
                                "maximum": TASKS_LIMIT[1],
                                "default": TASKS_LIMIT[2],
                            },
                        },
                        {
                            "name": "after",
                            "in": "query",
                            "schema": {"type": "string"},
                            "description": "A task id: list the tasks older than it.",
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "OK",
                            "headers": REQUEST_ID,
                            **_json(_ref("TaskList")),
                        },
                        **_errors(*COMMON_ERRORS),
                    },
                }
            },
            "/v1/tasks/{task_id}": {
                "get": {
                    "summary": "A task's status, progress and result",
                    "parameters": _task_param(),
                    "responses": {
                        "200": {"description": "OK", "headers": REQUEST_ID, **_json(_ref("Task"))},
                        **_errors(*COMMON_ERRORS, 404),
                    },
                }
            },
            "/v1/tasks/{task_id}/cancel": {
                "post": {
                    "summary": "Cancel a queued task, or a running one whose model can stop; "
                    "its credits are released",
                    "parameters": _task_param(),
                    "responses": {
                        "200": {"description": "OK", "headers": REQUEST_ID, **_json(_ref("Task"))},
                        **_errors(*COMMON_ERRORS, 404),
                    },
                }
            },
            "/v1/models": {
                "get": {
                    "summary": "The model catalog with prices",
                    "responses": {
                        "200": {
                            "description": "OK",
                            "headers": REQUEST_ID,
                            **_json(_ref("ModelList")),
                        },
                        **_errors(401, 405, 429, 500),
                    },
                }
            },
        },
    }


@require_GET
def openapi(request):
    return JsonResponse(document(), json_dumps_params={"indent": 1})

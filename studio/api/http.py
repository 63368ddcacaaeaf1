"""The /v1 edge: request ids, OpenAI-shaped errors, JSON bodies.

Every /v1 response carries `x-request-id`, and every failure — ours, Django's (404, 405, a
body too large) or an unexpected exception — leaves as the error object of ../shared/API.md:
`{"error": {"message", "type", "param", "code", "request_id"}}`.
"""

from __future__ import annotations

import json
import logging
import math

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse

from studio.api import bodies
from studio.errors import ErrorType, StudioError

log = logging.getLogger(__name__)
API_PREFIX = "/v1/"


def error_response(request, error: StudioError, headers: dict | None = None) -> JsonResponse:
    """The error in OpenAI's shape; a 429 or 503 always says when to try again
    (Retry-After), so a client's retries back off instead of coming at once."""
    body = {"error": {**error.to_dict(), "request_id": getattr(request, "request_id", None)}}
    response = JsonResponse(body, status=error.status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class ApiError(StudioError):
    """A StudioError raised inside an API view, optionally with response headers."""

    def __init__(self, message: str, *, headers: dict | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.headers = headers or {}


class ApiMiddleware:
    """Make every /v1 failure an OpenAI-shaped error, with the request's id (given to every
    request by studio.ops.middleware.RequestMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        if refused := bodies.limit_body(request):
            response = error_response(request, refused)
        else:
            try:
                response = self.get_response(request)
            finally:
                bodies.done_with_body(request)
        response = self._as_api_error(request, response)
        response["x-request-id"] = request.request_id
        return response

    def process_exception(self, request, exception):
        if not request.path_info.startswith(API_PREFIX):
            return None
        if isinstance(exception, RequestDataTooBig):  # form fields over Django's own limit
            return error_response(request, bodies.too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
        if isinstance(exception, StudioError):
            return error_response(request, exception, getattr(exception, "headers", None))
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(
            request,
            StudioError(
                "Something went wrong on our side. If this was a POST, check GET /v1/tasks "
                "before sending it again.",
                code=ErrorType.INTERNAL,
            ),
        )

    @staticmethod
    def _as_api_error(request, response: HttpResponse) -> HttpResponse:
        """Turn Django's own HTML 404/405/400 answers into API errors."""
        if (
            response.status_code < 400
            or response.status_code == 416  # a Range past the end: its Content-Range says why
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        if response.status_code == 404:
            return error_response(
                request,
                StudioError(
                    f"There is no {request.method} {request.path} here. See /v1/openapi.json.",
                    code=ErrorType.NOT_FOUND,
                ),
            )
        if response.status_code == 405:
            allowed = response.get("Allow", "")
            return error_response(
                request,
                StudioError(
                    f"{request.method} is not allowed on {request.path}; use {allowed}.",
                    code=ErrorType.METHOD_NOT_ALLOWED,
                ),
                {"Allow": allowed},
            )
        if response.status_code == 403:  # CSRF can't happen (csrf_exempt); anything else
            return error_response(
                request, StudioError("Forbidden.", code=ErrorType.PERMISSION_DENIED)
            )
        return error_response(request, StudioError("The request could not be read."))


# How deeply a JSON body may nest. No field takes more than an object of strings, so this is
# generous; it keeps a body of a million brackets from ever reaching a recursive walk.
MAX_JSON_DEPTH = 16

# The type of every /v1 body field, one table for JSON and forms: a JSON body must send it as
# that type (null counts as absent); a form's text is converted to it. DIGITS is a whole number
# that JSON may also send as a string of digits, as OpenAI's `seconds` is.
STRING, INTEGER, DIGITS, BOOLEAN, OBJECT = "string", "integer", "digits", "boolean", "object"
SAYS = {
    STRING: "a string",
    INTEGER: "a whole number",
    DIGITS: "a whole number",
    BOOLEAN: "true or false",
    OBJECT: "an object",
}
FIELD_TYPES = {
    "model": STRING,
    "prompt": STRING,
    "n": INTEGER,
    "size": STRING,
    "quality": STRING,
    "response_format": STRING,
    "user": STRING,
    "safety_identifier": STRING,
    "output_format": STRING,
    "output_compression": INTEGER,
    "background": STRING,
    "moderation": STRING,
    "style": STRING,
    "input_fidelity": STRING,
    "stream": BOOLEAN,
    "partial_images": INTEGER,
    "duration": INTEGER,
    "seconds": DIGITS,
    "input_image": STRING,
    "input_reference": OBJECT,
}


def read_json(request, allowed: set[str]) -> dict:
    """Return the JSON object body with its known fields typed and nulls dropped; refuse other
    content types, bad JSON, bodies nested too deeply, unknown fields, wrong types and text
    that can't be encoded, each with a 400 naming what is wrong."""
    reject_async_param(request)
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise ApiError(
            f"Send a JSON body with Content-Type: application/json (got {content_type or 'none'}).",
            param="Content-Type",
        )
    try:
        body = json.loads(request.body or b"")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ApiError(f"The body is not valid JSON: {getattr(e, 'msg', e)}.") from None
    except RecursionError:
        body = None  # deeper than Python's parser goes: refused below as too deep
    if body is None or _too_deep(body):
        raise ApiError(f"The JSON body nests more than {MAX_JSON_DEPTH} levels deep.")
    if not isinstance(body, dict):
        raise ApiError("The body must be a JSON object.")
    check_fields(body, allowed)
    return {
        name: _typed(name, value, from_text=False)
        for name, value in body.items()
        if value is not None
    }


def read_form(request, allowed: set[str], files: set[str]) -> dict:
    """Return a multipart (or urlencoded) body's text fields typed, as read_json does; the
    uploads, named in `files`, stay in request.FILES."""
    reject_async_param(request)
    names = {**{k: None for k in request.POST}, **{k: None for k in request.FILES}}
    check_fields(names, allowed | files)
    for name in request.FILES:
        if name not in files:
            raise ApiError(f"{name} is a field, not a file upload.", param=name)
    body = {}
    for name in request.POST:
        if name in files:
            raise ApiError(f"{name} must be a file upload.", param=name)
        value = request.POST[name].strip()
        if value or FIELD_TYPES.get(name) == STRING:
            body[name] = _typed(name, value, from_text=True)
    return body


def _too_deep(body) -> bool:
    level = [body]
    for _depth in range(MAX_JSON_DEPTH):
        level = [
            child
            for value in level
            if isinstance(value, dict | list)
            for child in (value.values() if isinstance(value, dict) else value)
        ]
        if not level:
            return False
    return any(isinstance(value, dict | list) for value in level)


def _kind_of(value) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _typed(name: str, value, *, from_text: bool):
    """Return `value` as the type FIELD_TYPES gives `name`, or raise ApiError naming it."""
    kind = FIELD_TYPES.get(name, STRING)
    typed = _convert(kind, value, from_text)
    if typed is None:
        got = f"{value!r}" if from_text else _kind_of(value)
        raise ApiError(f"{name} must be {SAYS[kind]}, not {got}.", param=name)
    _check_encodable(name, typed)
    return typed


def _convert(kind: str, value, from_text: bool):
    """`value` as `kind`, or None when it isn't one."""
    if kind == STRING:
        return value if isinstance(value, str) else None
    if kind == OBJECT:
        return value if isinstance(value, dict) and not from_text else None
    if kind == BOOLEAN:
        if from_text:
            return {"true": True, "false": False}.get(value.lower())
        return value if isinstance(value, bool) else None
    # A whole number: JSON's 2 or 2.0; a form's "2"; `seconds` also as "2" in JSON.
    if isinstance(value, str) and (from_text or kind == DIGITS):
        text = value.strip()
        return int(text) if text.isascii() and text.lstrip("-").isdigit() else None
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else None


def _check_encodable(name: str, value) -> None:
    """Refuse text that can't be stored or sent on: a lone surrogate (\\ud800) is valid JSON
    but no valid UTF-8."""
    strings = [value] if isinstance(value, str) else []
    if isinstance(value, dict):
        strings = [str(k) for k in value] + [v for v in value.values() if isinstance(v, str)]
    for text in strings:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(
                f"{name} holds text that can't be encoded as UTF-8 (a lone surrogate).",
                param=name,
            ) from None


# The deprecated forms of ../shared/API.md, each answered with the right one.
RENAMED = {
    "seconds": "use duration (whole seconds), not seconds",
    "image_url": "use input_image, not image_url",
    "async": "async is a route, not a field: POST /v1/async/…",
}


def reject_async_param(request) -> None:
    if "async" in request.GET:
        raise ApiError(f"Unknown query parameter 'async': {RENAMED['async']}.", param="async")


def check_fields(body, allowed: set[str]) -> None:
    for name in body:
        if name in RENAMED and name not in allowed:
            raise ApiError(f"Unknown field {name!r}: {RENAMED[name]}.", param=name)
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(
            f"Unknown field {unknown[0]!r}. This endpoint takes: {', '.join(sorted(allowed))}.",
            param=unknown[0],
        )


def json_response(data: dict, status: int = 200, headers: dict | None = None) -> JsonResponse:
    response = JsonResponse(data, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response

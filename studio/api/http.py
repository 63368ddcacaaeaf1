"""The /v1 edge: request ids, OpenAI-shaped errors, JSON bodies.

Every /v1 response carries `x-request-id`, and every failure — ours, Django's (404, 405, a
body too large) or an unexpected exception — leaves as the error object of ../shared/API.md:
`{"error": {"message", "type", "param", "code", "request_id"}}`.
"""

from __future__ import annotations

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse

from studio.errors import ErrorType, StudioError

log = logging.getLogger(__name__)
API_PREFIX = "/v1/"


def error_response(request, error: StudioError, headers: dict | None = None) -> JsonResponse:
    body = {"error": {**error.to_dict(), "request_id": getattr(request, "request_id", None)}}
    response = JsonResponse(body, status=error.status)
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
        try:
            response = self.get_response(request)
        except RequestDataTooBig:
            response = error_response(
                request,
                StudioError("The request body is too large.", code=ErrorType.REQUEST_TOO_LARGE),
            )
        response = self._as_api_error(request, response)
        response["x-request-id"] = request.request_id
        return response

    def process_exception(self, request, exception):
        if not request.path_info.startswith(API_PREFIX):
            return None
        if isinstance(exception, RequestDataTooBig):
            return error_response(
                request,
                StudioError("The request body is too large.", code=ErrorType.REQUEST_TOO_LARGE),
            )
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
        if response.status_code < 400 or response.get("Content-Type", "").startswith(
            "application/json"
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


def read_json(request, allowed: set[str]) -> dict:
    """Return the JSON object body; refuse other content types, bad JSON and unknown fields."""
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
    if not isinstance(body, dict):
        raise ApiError("The body must be a JSON object.")
    check_fields(body, allowed)
    return body


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

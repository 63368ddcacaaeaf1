"""The one error table the studio speaks, in pages and in the API.

Every refusal the user can cause (a bad size, too few credits, an unknown task) is a
StudioError naming a row of ERRORS, the table of `../shared/API.md`: its HTTP status, its
`type`, whether a client should retry and what it means. The `/v1` responses, the OpenAPI
document (`api/schema.py`), the `/docs/api/` page and the Pixapi client's reading of upstream
errors all come from this table. Pages show the message; the API renders `to_dict()` in
OpenAI's shape.
"""

from __future__ import annotations

from dataclasses import dataclass


class ErrorType:
    INVALID_REQUEST = "invalid_request_error"
    UNAUTHORIZED = "unauthorized"
    PERMISSION_DENIED = "permission_denied"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    MODEL_NOT_FOUND = "model_not_found"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_TOO_LARGE = "request_too_large"
    PROMPT_REJECTED = "prompt_rejected"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal_error"
    MODEL_UNAVAILABLE = "model_unavailable"


@dataclass(frozen=True)
class Error:
    status: int
    retry: str  # what a client should do: "no", "yes, with backoff", …
    description: str  # when it happens, for the docs
    type: str | None = None  # the `type` of the JSON error; None: the row's own name
    # Seconds a client should wait before trying again (Retry-After), where it should retry;
    # an answer that knows better (the rate limiter's wait) says so itself.
    retry_after: int | None = None


ERRORS: dict[str, Error] = {
    ErrorType.INVALID_REQUEST: Error(
        400, "no: fix the request", "a missing or invalid field; the message names it"
    ),
    ErrorType.UNAUTHORIZED: Error(401, "no", "a missing, wrong, revoked or expired key"),
    ErrorType.INSUFFICIENT_CREDITS: Error(
        402,
        "no: see the usage page",
        "the balance, your monthly limit or the key's cap can't cover the price",
    ),
    ErrorType.PERMISSION_DENIED: Error(
        403, "no", "your role doesn't allow this (a viewer creating a job)"
    ),
    ErrorType.MODEL_NOT_FOUND: Error(404, "no", "an unknown model id"),
    ErrorType.NOT_FOUND: Error(404, "no", "a task that isn't in your workspace, or no such route"),
    ErrorType.METHOD_NOT_ALLOWED: Error(
        405, "no", "the route takes another method (see Allow)", ErrorType.INVALID_REQUEST
    ),
    ErrorType.REQUEST_TOO_LARGE: Error(
        413, "no", "the request body is larger than the studio accepts", ErrorType.INVALID_REQUEST
    ),
    ErrorType.PROMPT_REJECTED: Error(422, "no", "the content policy refused the prompt"),
    ErrorType.RATE_LIMITED: Error(
        429,
        "yes, with backoff",
        "too many requests for this key; wait Retry-After seconds",
        retry_after=1,
    ),
    ErrorType.INTERNAL: Error(
        500,
        "GET yes, POST no",
        "unexpected; a POST may have been accepted: check GET /v1/tasks first",
    ),
    ErrorType.MODEL_UNAVAILABLE: Error(
        503,
        "yes, after Retry-After seconds",
        "the model is temporarily down or slower than the wait (then x-task-id names the task "
        "still being made)",
        retry_after=2,
    ),
}


class StudioError(Exception):
    """A refusal: a row of ERRORS (`code`), the field it is about and a message safe to show."""

    def __init__(
        self, message: str, *, code: str = ErrorType.INVALID_REQUEST, param: str | None = None
    ):
        super().__init__(message)
        row = ERRORS[code]
        self.message = message
        self.code = code
        self.type = row.type or code
        self.status = row.status
        self.retry_after = row.retry_after
        self.param = param

    def to_dict(self) -> dict:
        return {"type": self.type, "code": self.code, "param": self.param, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.message!r})"


def invalid(message: str, param: str | None = None) -> StudioError:
    return StudioError(message, param=param)

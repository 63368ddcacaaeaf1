"""The one error shape the studio speaks, in pages and in the API.

Every refusal the user can cause (a bad size, too few credits, an unknown task) is a
StudioError with the HTTP status, `type`, `code` and `param` of the error table in
`../shared/API.md`, and a message written for a person. Pages show the message; the `/v1` API
renders `to_dict()` in OpenAI's shape.
"""

from __future__ import annotations


class ErrorType:
    INVALID_REQUEST = "invalid_request_error"
    UNAUTHORIZED = "unauthorized"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    MODEL_NOT_FOUND = "model_not_found"
    NOT_FOUND = "not_found"
    PROMPT_REJECTED = "prompt_rejected"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal_error"
    MODEL_UNAVAILABLE = "model_unavailable"


STATUS_OF = {
    ErrorType.INVALID_REQUEST: 400,
    ErrorType.UNAUTHORIZED: 401,
    ErrorType.INSUFFICIENT_CREDITS: 402,
    ErrorType.MODEL_NOT_FOUND: 404,
    ErrorType.NOT_FOUND: 404,
    ErrorType.PROMPT_REJECTED: 422,
    ErrorType.RATE_LIMITED: 429,
    ErrorType.INTERNAL: 500,
    ErrorType.MODEL_UNAVAILABLE: 503,
}


class StudioError(Exception):
    """A refusal with a stable type/code, an HTTP status and a message safe to show."""

    def __init__(
        self,
        message: str,
        *,
        type: str = ErrorType.INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
        status: int | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.type = type
        self.code = code or type
        self.param = param
        self.status = status or STATUS_OF.get(type, 400)

    def to_dict(self) -> dict:
        return {"type": self.type, "code": self.code, "param": self.param, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.code!r}, {self.message!r})"


def invalid(message: str, param: str | None = None) -> StudioError:
    return StudioError(message, type=ErrorType.INVALID_REQUEST, param=param)

"""Why a job failed or was cancelled: the one table of sentences.

A job stores a code and its parameters (`Job.error_code`, `Job.error_params`); the sentence is
written here, once, and rendered when a page or the API shows it, so a page can show it in
its reader's language (wrap the texts in gettext) while the /v1 API stays English.

Parameters every code may carry:

- `detail`: the provider's own words about it (upstream text, made safe to show), quoted
  after the sentence and never translated;
- `retry`: true when the failure is usually temporary, so pages suggest trying again.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.errors import ErrorType


@dataclass(frozen=True)
class Reason:
    text: str  # a sentence with {named} parameters
    answer: str = ErrorType.INTERNAL  # the /v1 error a sync call that ended so answers with


REASONS: dict[str, Reason] = {
    # The pipeline's own.
    "cancelled": Reason("Cancelled before it finished."),
    "timeout": Reason(
        "{model} didn't finish within {minutes} minutes, so we stopped waiting.",
        ErrorType.MODEL_UNAVAILABLE,
    ),
    "worker_lost": Reason(
        "The worker stopped while this was being made, and the request can't be repeated safely.",
        ErrorType.MODEL_UNAVAILABLE,
    ),
    "internal_error": Reason("Something went wrong on our side while making this."),
    "no_output": Reason("The model finished without returning anything."),
    "bad_output": Reason("The model returned a file we couldn't read as {expected}."),
    "unsupported_media_type": Reason(
        "The model returned a file of type {got}, not the {expected} it was asked for."
    ),
    # What a provider answered (the names of the error table, from the upstream's side).
    "invalid_request_error": Reason(
        "The model refused the request as invalid.", ErrorType.INVALID_REQUEST
    ),
    "unauthorized": Reason(
        "The provider refused the studio's API key: an admin should check PIXAPI_API_KEY.",
        ErrorType.MODEL_UNAVAILABLE,
    ),
    "permission_denied": Reason(
        "The provider doesn't allow the studio's API key to do this.",
        ErrorType.MODEL_UNAVAILABLE,
    ),
    "insufficient_credits": Reason(
        "The studio's own account at the provider has run out of credits.",
        ErrorType.MODEL_UNAVAILABLE,
    ),
    "model_not_found": Reason("The provider doesn't offer this model.", ErrorType.MODEL_NOT_FOUND),
    "not_found": Reason("The provider no longer knows this task."),
    "prompt_rejected": Reason(
        "The prompt was refused under the content policy.", ErrorType.PROMPT_REJECTED
    ),
    "rate_limited": Reason(
        "The provider is rate limiting the studio.", ErrorType.MODEL_UNAVAILABLE
    ),
    "model_unavailable": Reason("The model is unavailable right now.", ErrorType.MODEL_UNAVAILABLE),
    "generation_failed": Reason("The model could not make this."),
    # The guarded downloader, copying a provider's result.
    "url_refused": Reason("The result is at an address the studio doesn't fetch from."),
    "file_too_large": Reason("The result is larger than the studio accepts."),
    "download_failed": Reason("The result couldn't be copied from the provider."),
}
# A code no row knows (an upstream's own task error code).
UNKNOWN = Reason("The model could not make this.")
DETAIL = "Details: {detail}."
TEMPORARY = "This is usually temporary: try again in a moment."


class _Params(dict):
    """Format parameters that show a missing one as "?" instead of failing a page."""

    def __missing__(self, key: str) -> str:
        return "?"


def reason(code: str) -> Reason:
    return REASONS.get(code, UNKNOWN)


def describe(code: str, params: dict | None = None, *, hints: bool = True) -> str:
    """Return the sentence for a failure `code` with its `params`, the provider's own words
    after it, and (with `hints`, for pages) whether trying again may help."""
    params = params or {}
    parts = [reason(code).text.format_map(_Params(params))]
    if params.get("detail"):
        parts.append(DETAIL.format(detail=str(params["detail"]).rstrip(".")))
    if hints and params.get("retry"):
        parts.append(TEMPORARY)
    return " ".join(parts)

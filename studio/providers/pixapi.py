"""The Pixapi provider: an httpx client of the contract in ../shared/API.md.

`PixapiClient` speaks HTTP: one `httpx.Client` (base URL, bearer key, User-Agent, explicit
timeout, injectable transport), both documented error shapes parsed into a typed hierarchy
(connection, timeout, one class per status family), and the retry rules of API.md:

- a GET is retried on 429, 500, 503, connection errors and timeouts;
- a POST spends money and is not idempotent, so it is retried only when the platform certainly
  did not accept it: 429, 503, and a connection that was never made (refused, or timed out
  while connecting). Never on 500, a read timeout or a dropped connection;
- at most MAX_ATTEMPTS tries, waiting min(8 s, 0.5 s * 2^attempt) plus jitter, or what
  Retry-After says (seconds or an HTTP date); a Retry-After beyond MAX_RETRY_AFTER is not
  waited for here but handed to the caller in ProviderError.retry_after.

`PixapiProvider` turns the JSON into the plain result objects of base.py and every failure
into ProviderError. Messages are safe to show: never the key, never a URL.
"""

from __future__ import annotations

import base64
import binascii
import logging
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any
from urllib.parse import quote

import httpx
from django.conf import settings

from studio.catalog.quote import NO_OPTIONS, ImageOptions
from studio.errors import ERRORS, ErrorType
from studio.lib.download import sniff
from studio.lib.transactions import outside_transaction
from studio.providers.base import (
    COMPLETED,
    FAILED,
    Fetched,
    ImageResult,
    InputImage,
    MediaOutput,
    Provider,
    ProviderError,
    TaskState,
    fetch_output,
)

log = logging.getLogger(__name__)

USER_AGENT = "pixapi-studio/0.1"
MAX_ATTEMPTS = 4
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 30.0
# The statuses worth another try, by method (see the module docstring).
RETRY_STATUSES = {"GET": frozenset({429, 500, 503}), "POST": frozenset({429, 503})}

# The error names of API.md's table (studio/errors.py), and the one each status means when
# the body doesn't say. Two rows share 404: an unknown task is the one to assume. A 408 is
# the server giving up on waiting, which the table has no row for: transient, like a 500.
ERROR_NAMES = frozenset(name for name, row in ERRORS.items() if row.type is None)
NAME_OF_STATUS = {
    **{ERRORS[name].status: name for name in ERROR_NAMES},
    404: ErrorType.NOT_FOUND,
    408: ErrorType.INTERNAL,
}
# How each of those reads when Pixapi answers it to the studio.
SAYS = {
    "invalid_request_error": "Pixapi refused the request as invalid",
    "unauthorized": "Pixapi refused the studio's API key (check PIXAPI_API_KEY)",
    "permission_denied": "Pixapi doesn't allow the studio's API key to do this",
    "insufficient_credits": "The Pixapi account has too few credits for this request",
    "model_not_found": "Pixapi does not offer this model",
    "not_found": "Pixapi does not know this task",
    "prompt_rejected": "Pixapi rejected the prompt under its content policy",
    "rate_limited": "Pixapi is rate limiting the studio; try again shortly",
    "internal_error": "Pixapi had an internal error",
    "model_unavailable": "The model is temporarily unavailable at Pixapi",
}
# Task statuses some platforms use, read as ours.
STATUS_SYNONYMS = {
    "succeeded": COMPLETED,
    "success": COMPLETED,
    "error": FAILED,
    "canceled": FAILED,
    "cancelled": FAILED,
}


# --- errors -----------------------------------------------------------------------------------


class PixapiError(Exception):
    """A call to Pixapi failed. `permanent` as in ProviderError."""

    permanent = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str = "internal_error",
        request_id: str | None = None,
        retry_after: float | None = None,
        detail: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.detail = detail

    def to_provider_error(self) -> ProviderError:
        return ProviderError(
            self.message,
            permanent=self.permanent,
            status=self.status,
            code=self.code,
            retry_after=self.retry_after,
            detail=self.detail,
        )


class APIConnectionError(PixapiError):
    """No answer: the connection failed. `sent` is False when the request certainly never
    reached the platform (the connection was never made), so even a POST may be repeated."""

    def __init__(self, message: str, *, sent: bool):
        super().__init__(message, code="model_unavailable")
        self.sent = sent


class APITimeoutError(APIConnectionError):
    """No answer in time."""


class APIResponseError(PixapiError):
    """A success status with a body that isn't what API.md documents."""


class APIStatusError(PixapiError):
    """An HTTP error status. Subclasses by status family; transient unless stated."""


class BadRequestError(APIStatusError):  # 400, 413 and other 4xx
    permanent = True


class AuthenticationError(APIStatusError):  # 401, 403
    permanent = True


class InsufficientCreditsError(APIStatusError):  # 402
    permanent = True


class NotFoundError(APIStatusError):  # 404
    permanent = True


class PromptRejectedError(APIStatusError):  # 422
    permanent = True


class RateLimitError(APIStatusError):  # 429
    pass


class InternalServerError(APIStatusError):  # 500 and other 5xx
    pass


class ServiceUnavailableError(APIStatusError):  # 503
    pass


ERROR_OF_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: AuthenticationError,
    404: NotFoundError,
    408: InternalServerError,  # the server timed out waiting: transient
    422: PromptRejectedError,
    429: RateLimitError,
    500: InternalServerError,
    503: ServiceUnavailableError,
}


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Return the seconds a Retry-After header asks for (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


_URL = re.compile(r"\bhttps?://\S+", re.IGNORECASE)
_BEARER = re.compile(r"\bBearer\s+\S+", re.IGNORECASE)


def safe_text(text: Any, secret: str | None) -> str:
    """Return `text` fit to show a user: no key, no bearer token, no URL, one short line."""
    text = str(text)
    if secret:
        text = text.replace(secret, "[key]")
    text = _BEARER.sub("Bearer [key]", text)
    text = _URL.sub("[link]", text)
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _error_name(status: int, said: set[str]) -> str:
    """Return the table name for an error: the status decides; the body's code or type only
    chooses between the two 404s, or names a status the table doesn't list."""
    if status == 404:
        return "model_not_found" if "model_not_found" in said else "not_found"
    if status in NAME_OF_STATUS:
        return NAME_OF_STATUS[status]
    known = sorted(said & ERROR_NAMES)
    return known[0] if known else ("internal_error" if status >= 500 else "invalid_request_error")


def error_from_response(response: httpx.Response, secret: str | None) -> APIStatusError:
    """Return the typed error for an HTTP error response in either documented shape:
    {"error": {"code": 400 | "model_unavailable", "message", "type"?, "request_id"?}} or
    OpenAI's {"error": {"message", "type", "param", "code", "request_id"}}; any other body too."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        error = {"message": error}
    if not isinstance(error, dict):
        error = {}
    name = _error_name(status, {str(error.get("code") or ""), str(error.get("type") or "")})
    upstream = safe_text(error.get("message"), secret).rstrip(".") if error.get("message") else None
    message = f"{SAYS[name]} ({upstream or f'HTTP {status}'})."
    cls = ERROR_OF_STATUS.get(status) or (InternalServerError if status >= 500 else BadRequestError)
    request_id = error.get("request_id") or response.headers.get("x-request-id")
    return cls(
        message,
        status=status,
        code=name,
        request_id=str(request_id) if request_id else None,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        detail=upstream or f"HTTP {status}",
    )


# --- the HTTP client --------------------------------------------------------------------------


class PixapiClient:
    """Pixapi over HTTP. Every method returns the decoded JSON body or raises PixapiError."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        base_url = base_url.rstrip("/")
        # Every path below starts with /v1; a base URL that already ends with it is the same.
        base_url = base_url.removesuffix("/v1")
        self.api_key = api_key
        self.sleep, self.jitter, self.max_attempts = sleep, jitter, max_attempts
        self.http = httpx.Client(
            base_url=base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs) -> dict:
        """Send one API call with the retry rules of the module docstring; return the JSON."""
        outside_transaction(f"calling Pixapi ({method} {path})")
        if not self.api_key:
            raise AuthenticationError(
                "The studio has no Pixapi key: set PIXAPI_API_KEY, or use STUDIO_PROVIDER=local.",
                code="unauthorized",
            )
        for attempt in range(self.max_attempts):
            cause: Exception | None = None
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TimeoutException as exc:
                cause = exc
                never_connected = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
                error: PixapiError = APITimeoutError(
                    "Pixapi did not answer in time.", sent=not never_connected
                )
            except httpx.TransportError as exc:
                cause = exc
                error = APIConnectionError(
                    "Pixapi could not be reached.", sent=not isinstance(exc, httpx.ConnectError)
                )
            else:
                if response.is_success:
                    return self._json(response)
                error = error_from_response(response, self.api_key)
            delay = self._retry_delay(method, error, attempt)
            if delay is None:
                raise error from cause
            log.warning(
                "Pixapi %s %s: %s Retry %d in %.1fs.",
                method,
                path,
                error.message,
                attempt + 1,
                delay,
            )
            self.sleep(delay)
        raise AssertionError("unreachable")  # the last attempt always raises above

    def _retry_delay(self, method: str, error: PixapiError, attempt: int) -> float | None:
        """Return how long to wait before trying again, or None to give up."""
        if attempt + 1 >= self.max_attempts:
            return None
        if isinstance(error, APIStatusError):
            retry = error.status in RETRY_STATUSES.get(method, ())
        elif isinstance(error, APIConnectionError):
            retry = method == "GET" or not error.sent
        else:
            retry = False
        if not retry:
            return None
        if error.retry_after is not None:
            # Waiting longer than this holds a worker; the caller can schedule it instead.
            return error.retry_after if error.retry_after <= MAX_RETRY_AFTER else None
        backoff = min(MAX_BACKOFF, 0.5 * 2**attempt)
        return backoff + backoff * 0.25 * self.jitter()

    def _json(self, response: httpx.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise APIResponseError(
                f"Pixapi answered HTTP {response.status_code} with a body that is not a JSON "
                "object.",
                status=response.status_code,
            )
        return body

    # The endpoints of API.md.

    def generate_images(self, body: dict) -> dict:
        return self.request("POST", "/v1/images/generations", json=body)

    def edit_images(
        self,
        fields: dict,
        images: list[InputImage],
        mask: InputImage | None,
    ) -> dict:
        # As the OpenAI SDK sends them: one image as `image`, several as `image[]`.
        name = "image" if len(images) == 1 else "image[]"
        files = [(name, (i.filename, i.data, i.content_type)) for i in images]
        if mask is not None:
            files.append(("mask", (mask.filename, mask.data, mask.content_type)))
        return self.request("POST", "/v1/images/edits", data=fields, files=files)

    def submit_video(self, body: dict) -> dict:
        return self.request("POST", "/v1/async/videos/generations", json=body)

    def get_task(self, task_id: str) -> dict:
        # The id comes from the platform; quoted, it can only ever name a task.
        return self.request("GET", f"/v1/tasks/{quote(task_id, safe='')}")

    def list_models(self) -> dict:
        return self.request("GET", "/v1/models")


# --- the provider -----------------------------------------------------------------------------


class PixapiProvider(Provider):
    name = "pixapi"
    idempotent_submit = False
    needs_public_input_url = True
    can_cancel = False  # API.md: Pixapi documents no way to cancel a task

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ):
        """Settings give the defaults (PIXAPI_BASE_URL, PIXAPI_API_KEY, PIXAPI_TIMEOUT); tests
        pass a `transport` (httpx.MockTransport) and a `sleep` that doesn't."""
        self.client = PixapiClient(
            base_url=base_url or settings.PIXAPI_BASE_URL,
            api_key=settings.PIXAPI_API_KEY if api_key is None else api_key,
            timeout=timeout or settings.PIXAPI_TIMEOUT,
            transport=transport,
            sleep=sleep,
            jitter=jitter,
        )

    def _call(self, call: Callable[[], dict]) -> dict:
        try:
            return call()
        except PixapiError as exc:
            raise exc.to_provider_error() from exc

    def _fields(
        self,
        model: str,
        prompt: str,
        n: int,
        size: str,
        quality: str | None,
        options: ImageOptions,
    ) -> dict:
        """The request body; the output options asked for go upstream as they were asked."""
        fields = {"model": model, "prompt": prompt, "n": n, "size": size, "response_format": "url"}
        if quality is not None:
            fields["quality"] = quality
        return {**fields, **options.asked()}

    def generate_images(
        self,
        *,
        model: str,
        prompt: str,
        n: int,
        size: str,
        quality: str | None,
        options: ImageOptions = NO_OPTIONS,
    ) -> ImageResult:
        """POST /v1/images/generations; return its images (URLs to fetch at once, or data)."""
        fields = self._fields(model, prompt, n, size, quality, options)
        body = self._call(lambda: self.client.generate_images(fields))
        return ImageResult(self._outputs(body.get("data"), "images"))

    def edit_images(
        self,
        *,
        model: str,
        prompt: str,
        images: list[InputImage],
        mask: InputImage | None,
        n: int,
        size: str,
        quality: str | None,
        options: ImageOptions = NO_OPTIONS,
    ) -> ImageResult:
        """POST /v1/images/edits (multipart); return its images."""
        fields = self._fields(model, prompt, n, size, quality, options)
        fields = {k: str(v) for k, v in fields.items()}
        body = self._call(lambda: self.client.edit_images(fields, images, mask))
        return ImageResult(self._outputs(body.get("data"), "images"))

    def submit_video(
        self,
        *,
        model: str,
        prompt: str,
        duration: int,
        size: str,
        quality: str | None,
        input_image: InputImage | None,
    ) -> TaskState:
        """POST /v1/async/videos/generations; return the submitted task.

        Raise ProviderError (permanent) without calling when image-to-video has no public
        URL for the image: the platform fetches it itself.
        """
        body: dict[str, Any] = {
            "model": model,
            "prompt": prompt,
            "duration": duration,
            "size": size,
        }
        if quality is not None:
            body["quality"] = quality
        if input_image is not None:
            if not input_image.url:
                raise ProviderError(
                    "Image-to-video through Pixapi needs a public address for the image: set "
                    "STUDIO_PUBLIC_URL to this studio's address as the internet reaches it, so "
                    "the platform can fetch the image.",
                    permanent=True,
                    status=400,
                    code="invalid_request_error",
                )
            body["input_image"] = input_image.url
        return self._task(self._call(lambda: self.client.submit_video(body)))

    def get_task(self, task_id: str) -> TaskState:
        """GET /v1/tasks/{id}; an unknown task is a permanent ProviderError (404)."""
        return self._task(self._call(lambda: self.client.get_task(task_id)))

    def list_models(self) -> list[dict]:
        """GET /v1/models; return its `data`."""
        body = self._call(self.client.list_models)
        data = body.get("data")
        if not isinstance(data, list):
            raise APIResponseError("Pixapi's model list has no data.").to_provider_error()
        return [m for m in data if isinstance(m, dict)]

    def fetch(self, output: MediaOutput, dest: IO[bytes]) -> Fetched:
        """Download a result URL at once (they expire) through the guarded downloader, which
        sends no key; inline data is just written."""
        return fetch_output(output, dest)

    # Reading responses.

    def _outputs(self, data: Any, what: str) -> list[MediaOutput]:
        if not isinstance(data, list) or not data:
            raise APIResponseError(f"Pixapi's answer has no {what}.").to_provider_error()
        outputs = []
        for item in data:
            if isinstance(item, dict) and item.get("url"):
                outputs.append(MediaOutput(url=str(item["url"])))
            elif isinstance(item, dict) and item.get("b64_json"):
                try:
                    raw = base64.b64decode(item["b64_json"], validate=True)
                except (binascii.Error, ValueError, TypeError) as exc:
                    raise APIResponseError(
                        "Pixapi sent an image that is not valid base64."
                    ).to_provider_error() from exc
                outputs.append(MediaOutput(data=raw, content_type=sniff(raw[:64]) or "image/png"))
            else:
                raise APIResponseError(
                    f"Pixapi's answer lists {what} without a url or b64_json."
                ).to_provider_error()
        return outputs

    def _task(self, body: dict) -> TaskState:
        task_id, status = body.get("id"), body.get("status")
        if not task_id or not isinstance(status, str):
            raise APIResponseError("Pixapi's task has no id or status.").to_provider_error()
        status = STATUS_SYNONYMS.get(status.lower(), status.lower())
        try:
            progress = max(0, min(100, int(float(body.get("progress") or 0))))
        except (TypeError, ValueError):
            progress = 0
        state = TaskState(id=str(task_id), status=status, progress=progress)
        result = body.get("result") if isinstance(body.get("result"), dict) else {}
        if status == COMPLETED:
            state.outputs = self._outputs(result.get("data"), "video")
            state.progress = 100
        elif status == FAILED:
            error = body.get("error") if isinstance(body.get("error"), dict) else {}
            state.error_code = str(error.get("code") or "internal_error")
            state.error_message = safe_text(
                error.get("message") or "Pixapi reported the task failed.", self.client.api_key
            )
        return state

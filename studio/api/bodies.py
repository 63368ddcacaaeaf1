"""Reading /v1 request bodies: the size limit before any byte is read, and chunked bodies.

One mechanism for both (ApiMiddleware calls `limit_body` before anything reads the body):

- A body whose Content-Length is over API_MAX_BODY_BYTES is refused with 413 at once, from
  the header, without reading it.
- A body sent with Transfer-Encoding: chunked has no Content-Length, and Django's WSGI request
  then reads none of it (openai-node streams an upload that way; so does curl when told).
  The WSGI server de-chunks it (gunicorn does, and says so with `wsgi.input_terminated`); here
  it is copied into a spooled temporary file, up to the limit — 413 the moment the stream
  passes it — and handed to Django as if it had come with its length.

A server that passes chunked bodies on undecoded (no `wsgi.input_terminated`) can't be read
safely: such a request is refused with a 400 asking for a Content-Length.
"""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream

from studio.errors import ErrorType, StudioError

CHUNK = 64 * 1024
# Bodies up to this stay in memory; larger ones spill to a temporary file.
IN_MEMORY = 1024 * 1024


def too_large(limit: int) -> StudioError:
    return StudioError(
        f"The request body is larger than the {limit:,} bytes this studio accepts "
        "(API_MAX_BODY_BYTES).",
        code=ErrorType.REQUEST_TOO_LARGE,
    )


def limit_body(request) -> StudioError | None:
    """Check the body's size before it is read, and make a chunked body readable; return
    the error to answer with, or None to go on."""
    limit = settings.API_MAX_BODY_BYTES
    length = request.META.get("CONTENT_LENGTH")
    if length:
        try:
            declared = int(length)
        except ValueError:
            return StudioError("The Content-Length header is not a number.")
        return too_large(limit) if declared > limit else None
    if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return None
    if not request.META.get("wsgi.input_terminated"):
        return StudioError(
            "This server can't read chunked request bodies: send a Content-Length.",
        )
    return _read_chunked(request, request.META["wsgi.input"], limit)


def _read_chunked(request, stream, limit: int) -> StudioError | None:
    body = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY)  # noqa: SIM115 (the request owns it)
    size = 0
    # Never ask for more than one byte past the limit: a read waits until it has all it asked
    # for, so a larger one could wait on a client that stopped just past the limit.
    while data := stream.read(min(CHUNK, limit + 1 - size)):
        size += len(data)
        if size > limit:
            body.close()
            return too_large(limit)
        body.write(data)
    body.seek(0)
    request._stream = LimitedStream(body, size)
    request.META["CONTENT_LENGTH"] = str(size)
    request.chunked_body = body  # closed by done_with_body
    return None


def done_with_body(request) -> None:
    """Close the copy of a chunked body, once the response is made."""
    if body := getattr(request, "chunked_body", None):
        body.close()

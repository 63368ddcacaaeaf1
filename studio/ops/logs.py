"""Request ids and the log context: which request, user, workspace and job a line is about.

One context per request (set by ops.middleware.RequestMiddleware) or per job a worker runs or
polls (`job_context`); `ContextFilter` writes it into every log record, whichever logger wrote
it, and the two formatters of settings.LOGGING show it: plain text (the default) or one JSON
object per line (`LOG_FORMAT=json`).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
import uuid
from contextlib import contextmanager

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

# An incoming X-Request-ID we pass on as it is: short, and safe in a header, a log line and
# a storage path (no spaces, slashes or quotes).
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
FIELDS = ("request_id", "user", "workspace", "job_id")

_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_context", default=None)


def new_request_id() -> str:
    return "req_" + uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """The request's id: the caller's X-Request-ID when it is sane, else a new one."""
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return new_request_id()


@contextmanager
def bound(**fields):
    """Run the block with `fields` added to the log context (request_id, user, workspace,
    job_id, or request: the HttpRequest whose user and workspace are read once known)."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields) -> None:
    """Add `fields` to the current context until its block ends (see `bound`, `isolated`);
    outside of any, do nothing."""
    current = _context.get()
    if current is not None:
        current.update(fields)


def isolated(func):
    """Run `func` in a context of its own, so what it binds ends with it."""

    def run(*args, **kwargs):
        _context.set(dict(_context.get() or {}))
        return func(*args, **kwargs)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return contextvars.copy_context().run(run, *args, **kwargs)

    return wrapper


def bind_job(job) -> None:
    """Log what follows as about `job`: its id, the request that submitted it, its user and
    workspace (the worker's lines carry the web request's id this way)."""
    bind(
        job_id=job.public_id,
        request_id=job.request_id or None,
        user=job.user_id,
        workspace=job.workspace_id,
    )


def current(name: str):
    """The value of one field of the log context (None when unset)."""
    return _fields(_context.get() or {}).get(name)


def copy_context_run(target):
    """`target` wrapped to run in a copy of the current context: a thread started for a
    request logs with that request's id."""
    ctx = contextvars.copy_context()
    return functools.partial(ctx.run, target)


def _evaluated(obj):
    """`obj` if it is a real value, None if it is a lazy object nobody has looked at yet (the
    request's user before the view asks for it: reading it would cost a query, in a log call)."""
    from django.utils.functional import LazyObject, empty

    if isinstance(obj, LazyObject):
        return None if obj._wrapped is empty else obj._wrapped
    return obj


def _fields(ctx: dict) -> dict:
    fields = {name: ctx.get(name) for name in FIELDS}
    request = ctx.get("request")
    if request is not None:
        attributes = vars(request)
        user = _evaluated(attributes.get("user"))
        if fields["user"] is None and user is not None:
            fields["user"] = user.pk  # None for an anonymous visitor
        workspace = attributes.get("workspace")
        if fields["workspace"] is None and workspace is not None:
            fields["workspace"] = workspace.pk
    return fields


class ContextFilter(logging.Filter):
    """Add request_id, user, workspace and job_id to every record (None when unknown), and
    `context`: the same as " key=value" pairs for the plain format."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _fields(_context.get() or {})
        for name, value in fields.items():
            setattr(record, name, value)
        record.context = "".join(
            f" {name}={value}" for name, value in fields.items() if value is not None
        )
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id, user, workspace,
    job_id (and exc_info with the traceback, when there is one)."""

    def __init__(self, *args, **kwargs):
        super().__init__(
            "{levelname}{name}{message}{request_id}{user}{workspace}{job_id}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            # `context` is the plain format's copy of the fields; Django's `request` extra
            # would only be its repr.
            reserved_attrs=[*RESERVED_ATTRS, "context", "request"],
        )

    def process_log_record(self, log_data: dict) -> dict:
        return {"time": log_data.pop("time", None), **log_data}  # the time first, to scan by

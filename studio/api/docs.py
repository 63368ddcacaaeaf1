from __future__ import annotations

from django.shortcuts import render

from studio.catalog.tables import MODELS
from studio.errors import STATUS_OF

ERROR_ROWS = [
    (
        "invalid_request_error",
        "a missing or invalid field; the message names it",
        "no: fix the request",
    ),
    ("unauthorized", "missing, wrong, revoked or expired key", "no"),
    (
        "insufficient_credits",
        "the balance, your monthly limit or the key's cap can't cover the price",
        "no: see the usage page",
    ),
    ("model_not_found", "unknown model id", "no"),
    ("not_found", "a task that isn't in your workspace", "no"),
    ("prompt_rejected", "the content policy refused the prompt", "no"),
    (
        "rate_limited",
        "too many requests for this key; wait Retry-After seconds",
        "yes, with backoff",
    ),
    (
        "internal_error",
        "unexpected; a POST may have been accepted: check GET /v1/tasks first",
        "GET yes, POST no",
    ),
    ("model_unavailable", "the model is temporarily down or slow", "yes, with backoff"),
]


def docs_page(request):
    """The human API docs: examples for every endpoint, the error table, the prices."""
    errors = [(STATUS_OF[code], code, when, retry) for code, when, retry in ERROR_ROWS]
    models = [
        {"id": m.id, "kind": m.kind, "aliases": m.aliases, "table": m.price_table()}
        for m in MODELS.values()
    ]
    return render(
        request,
        "api/docs.html",
        {
            "api_base": request.build_absolute_uri("/v1").rstrip("/"),
            "errors": errors,
            "models": models,
        },
    )

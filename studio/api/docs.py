from __future__ import annotations

from django.shortcuts import render

from studio.catalog import tables
from studio.errors import ERRORS


def docs_page(request):
    """The human API docs: examples for every endpoint, the error table, the prices."""
    errors = sorted(
        (row.status, name, row.type or name, row.description, row.retry)
        for name, row in ERRORS.items()
    )
    models = [
        {"id": m.id, "kind": m.kind, "aliases": m.aliases, "table": m.price_table()}
        for m in tables.MODELS.values()
    ]
    return render(
        request,
        "api/docs.html",
        {
            "api_base": request.build_absolute_uri("/v1").rstrip("/"),
            "errors": errors,
            "models": models,
            "duration_range": tables.DURATION_RANGE,
            "default_duration": tables.DEFAULT_DURATION,
            "video_models": [m.id for m in tables.MODELS.values() if m.kind == tables.VIDEO],
            "veo_qualities": tables.MODELS["veo"].qualities,
        },
    )

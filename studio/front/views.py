from __future__ import annotations

from django.shortcuts import render

from studio.accounts.decorators import workspace_required
from studio.catalog.tables import ENDPOINT_PATHS, MODELS


@workspace_required
def studio(request):
    return render(request, "front/studio.html")


def catalog(request):
    """Every model, alias and price, from the same tables the quotes use. Open to everyone."""
    models = [
        {
            "id": m.id,
            "name": m.name,
            "kind": m.kind,
            "aliases": m.aliases,
            "best_for": m.best_for,
            "table": m.price_table(),
            "endpoint_paths": [ENDPOINT_PATHS[e] for e in m.endpoints],
        }
        for m in MODELS.values()
    ]
    return render(request, "front/catalog.html", {"models": models})

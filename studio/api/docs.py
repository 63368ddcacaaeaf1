"""The human API docs at /docs/api/, built from the same source as /v1/openapi.json.

The reference part is the OpenAPI document itself (api/schema.py): every operation with its
operationId, parameters, a curl command made from its recorded request example, its recorded
answer and the errors it can give. The guide part around it shows the clients, the
conventions and the prices, from the catalog and the error table.
"""

from __future__ import annotations

import json
import shlex

from django.shortcuts import render

from studio.api import schema
from studio.catalog import tables
from studio.errors import ERRORS


def docs_page(request):
    """The human API docs: the guide, the reference of every operation, errors and prices."""
    api_base = request.build_absolute_uri("/v1").rstrip("/")
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
            "api_base": api_base,
            "operations": reference(api_base),
            "errors": errors,
            "models": models,
            "tier_ids": tables.TIER_IDS,
            "duration_range": tables.DURATION_RANGE,
            "default_duration": tables.DEFAULT_DURATION,
            "openai_seconds": tables.OPENAI_VIDEO_SECONDS,
            "openai_size": tables.OPENAI_VIDEO_SIZE,
            "video_models": [m.id for m in tables.MODELS.values() if m.kind == tables.VIDEO],
            "veo_qualities": tables.MODELS["veo"].qualities,
            "output_formats": tables.OUTPUT_FORMATS,
            "quality_synonyms": tables.OPENAI_QUALITY_SYNONYMS,
        },
    )


def reference(api_base: str) -> list[dict]:
    """Every operation of the OpenAPI document, as the page shows it."""
    document = schema.document()
    operations = []
    for op in schema.OPERATIONS:
        spec = document["paths"][op.path][op.method]
        recorded = schema.examples()[op.id]
        answer = recorded["response"]
        operations.append(
            {
                "id": op.id,
                "method": op.method.upper(),
                "path": op.path,
                "summary": op.summary,
                "description": op.description,
                "deprecated": op.deprecated,
                "parameters": [
                    (p["name"], p["in"], p.get("description", "")) for p in spec["parameters"]
                ],
                "curl": curl(api_base, op, recorded),
                "status": answer["status"],
                "answer": json.dumps(answer.get("body", answer.get("headers")), indent=2),
                "errors": [
                    (int(status), response["content"]["application/json"]["example"]["error"])
                    for status, response in spec["responses"].items()
                    if status >= "400" and "content" in response
                ],
            }
        )
    return operations


def curl(api_base: str, op: schema.Operation, recorded: dict) -> str:
    """The curl command of an operation's recorded request."""
    values = recorded.get("parameters", {})
    path = op.path.removeprefix("/v1")
    query = []
    headers = ['"Authorization: Bearer $PIXAPI_KEY"']
    for p in op.parameters:
        if p["name"] not in values:
            continue
        value = values[p["name"]]
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", str(value))
        elif p["in"] == "query":
            query.append(f"{p['name']}={value}")
        else:
            headers.append(shlex.quote(f"{p['name']}: {value}"))
    url = "$PIXAPI_BASE" + path + ("?" + "&".join(query) if query else "")
    lines = [f"curl {shlex.quote(url) if query else url}"]
    if op.method != "get" and "request" not in recorded:
        lines[0] += f" -X {op.method.upper()}"
    lines += [f"  -H {h}" for h in headers]
    body = recorded.get("request")
    if body is not None and recorded.get("request_content") == "multipart":
        for name, value in body.items():
            if isinstance(value, str) and value.startswith("(the image file"):
                lines.append(f"  -F {name}=@in.png")
            else:
                lines.append(f"  -F {shlex.quote(f'{name}={value}')}")
    elif body is not None:
        lines.append('  -H "Content-Type: application/json"')
        lines.append(f"  -d {shlex.quote(json.dumps(body))}")
    if "headers" in recorded["response"]:  # a file
        lines.append("  -o video.mp4")
    return " \\\n".join(lines)

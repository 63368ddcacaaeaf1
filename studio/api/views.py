"""The Pixapi-compatible /v1 API (../shared/API.md), on the same job pipeline as the pages.

Every call becomes a Job of the key's owner in the key's workspace: priced by the catalog,
its credits reserved before any provider call (402 otherwise), run by the same runner, its
outputs stored as that person's assets. Sync image routes wait for the job (bounded by
API_SYNC_WAIT); async routes answer at once with a task to poll.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tempfile
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from studio.api.auth import api_view
from studio.api.http import (
    ApiError,
    check_fields,
    json_response,
    read_json,
    reject_async_param,
)
from studio.api.models import IDEMPOTENCY_KEY_MAX, IdempotencyRecord
from studio.catalog import tables
from studio.catalog.quote import money
from studio.errors import ErrorType
from studio.generations import media, runner
from studio.generations.models import Asset, Job, JobKind, JobSource, JobStatus
from studio.lib import download, signing

GENERATION_FIELDS = {"model", "prompt", "n", "size", "quality", "response_format", "user"}
EDIT_FIELDS = GENERATION_FIELDS | {"image", "image[]", "mask"}
VIDEO_FIELDS = {"model", "prompt", "duration", "size", "quality", "input_image", "user"}
RESPONSE_FORMATS = ("url", "b64_json")
IDEMPOTENCY_WINDOW = timedelta(hours=24)
TASKS_LIMIT = (1, 100, 20)  # GET /v1/tasks?limit=: lowest, highest, default
TASK_STATUS = {
    JobStatus.QUEUED: "queued",
    JobStatus.PROCESSING: "processing",
    JobStatus.COMPLETED: "completed",
    JobStatus.FAILED: "failed",
    # Pixapi clients poll until completed or failed: a cancelled task must end as one.
    JobStatus.CANCELLED: "failed",
}
# How a failed sync job answers: the provider's own error types keep their status.
SYNC_FAILURE = {
    "prompt_rejected": ErrorType.PROMPT_REJECTED,
    "invalid_request_error": ErrorType.INVALID_REQUEST,
    "model_not_found": ErrorType.MODEL_NOT_FOUND,
    "rate_limited": ErrorType.MODEL_UNAVAILABLE,
    "model_unavailable": ErrorType.MODEL_UNAVAILABLE,
    "timeout": ErrorType.MODEL_UNAVAILABLE,
    "worker_lost": ErrorType.MODEL_UNAVAILABLE,
    # The studio's own upstream account failing is not the caller's 401 or 402.
    "unauthorized": ErrorType.MODEL_UNAVAILABLE,
    "insufficient_credits": ErrorType.MODEL_UNAVAILABLE,
}


# ---- shaping answers ---------------------------------------------------------------------


def _absolute(request, path: str) -> str:
    if settings.STUDIO_PUBLIC_URL:
        return settings.STUDIO_PUBLIC_URL + path
    return request.build_absolute_uri(path)


def _charged(job: Job) -> str:
    settlement = getattr(getattr(job, "reservation", None), "settlement", None)
    return str(money(settlement.captured if settlement else 0))


def task_dict(request, job: Job) -> dict:
    data = {
        "id": job.public_id,
        "object": "task",
        "status": TASK_STATUS[job.status],
        "progress": job.progress,
        "created_at": int(job.created_at.timestamp()),
        "model": job.model,
        "kind": job.kind,
        "usage": {"credits": _charged(job), "reserved": str(money(job.credits_quoted))},
    }
    if job.status == JobStatus.COMPLETED:
        data["result"] = {
            "data": [
                {
                    "url": _absolute(request, media.signed_path(a)),
                    "type": a.kind,
                    "width": a.width,
                    "height": a.height,
                    **({"duration": a.duration} if a.duration else {}),
                }
                for a in job.assets.order_by("id")
            ]
        }
    elif job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        data["error"] = {"code": job.error_code or job.status, "message": job.error_message}
    return data


def submission_dict(job: Job) -> dict:
    return {
        "status": "submitted",
        "id": job.public_id,
        "progress": 0,
        "created_at": int(job.created_at.timestamp()),
        "model": job.model,
    }


def _credit_headers(job: Job) -> dict:
    return {"x-credits-charged": _charged(job)}


def images_response(request, job: Job, response_format: str) -> JsonResponse:
    """The sync image answer for an ended job: the images, or the error it ended with."""
    if job.status != JobStatus.COMPLETED:
        error_type = SYNC_FAILURE.get(job.error_code, ErrorType.INTERNAL)
        raise ApiError(
            job.error_message or "The job did not complete.",
            code=error_type,
            headers=_credit_headers(job),
        )
    data = []
    for asset in job.assets.order_by("id"):
        if response_format == "b64_json":
            data.append({"b64_json": base64.b64encode(media.open_asset(asset)).decode()})
        else:
            data.append({"url": _absolute(request, media.signed_path(asset))})
    body = {
        "created": int(job.created_at.timestamp()),
        "data": data,
        "usage": {"credits": _charged(job)},
    }
    return json_response(body, headers=_credit_headers(job))


# ---- reading requests --------------------------------------------------------------------


def _model_allowed(request, model_id: str | None) -> None:
    allowed = request.api_key.allowed_models
    model = tables.get_model(model_id) if isinstance(model_id, str) else None
    if allowed and model is not None and model.id not in allowed:
        raise ApiError(f"This API key may only use {', '.join(allowed)}.", param="model")


def _response_format(value) -> str:
    value = value or RESPONSE_FORMATS[0]
    if value not in RESPONSE_FORMATS:
        raise ApiError("response_format must be url or b64_json.", param="response_format")
    return value


def _int_field(value, name: str):
    """Multipart sends numbers as text; JSON numbers pass through for the catalog to check."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ApiError(f"{name} must be a whole number.", param=name) from None
    return value


def _fingerprint(endpoint: str, body: dict, files=()) -> str:
    digest = hashlib.sha256(endpoint.encode())
    digest.update(json.dumps(body, sort_keys=True, default=str).encode())
    for f in files:
        f.seek(0)
        for chunk in f.chunks():
            digest.update(chunk)
        f.seek(0)
    return digest.hexdigest()


def _submit(request, endpoint: str, fingerprint: str, make_job) -> tuple[Job, bool]:
    """Run `make_job()` once per Idempotency-Key; return (job, replayed)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        # One transaction: a refused reservation takes the uploaded source asset with it.
        with transaction.atomic():
            return make_job(), False
    if len(key) > IDEMPOTENCY_KEY_MAX:
        raise ApiError(
            f"Idempotency-Key can be at most {IDEMPOTENCY_KEY_MAX} characters.",
            param="Idempotency-Key",
        )
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record = (
                    IdempotencyRecord.objects.select_for_update()
                    .filter(api_key=request.api_key, key=key)
                    .select_related("job")
                    .first()
                )
                if record and record.created_at > now - IDEMPOTENCY_WINDOW:
                    if (record.endpoint, record.fingerprint) != (endpoint, fingerprint):
                        raise ApiError(
                            "This Idempotency-Key was already used for a different request; "
                            "use a new key for a new request.",
                            param="Idempotency-Key",
                        )
                    return record.job, True
                if record:  # older than the window: the key is free again
                    record.delete()
                job = make_job()
                IdempotencyRecord.objects.create(
                    api_key=request.api_key,
                    key=key,
                    endpoint=endpoint,
                    fingerprint=fingerprint,
                    job=job,
                    created_at=now,
                )
                return job, False
        except IntegrityError:
            continue  # a concurrent first call won; read its record
    raise ApiError("Could not record the Idempotency-Key; try again.", code=ErrorType.INTERNAL)


def _new_job(request, kind: str, body: dict, **extra) -> Job:
    _model_allowed(request, body.get("model"))
    request_fields = {
        k: body.get(k)
        for k in ("model", "n", "size", "quality", "duration")
        if body.get(k) is not None
    }
    return runner.submit(
        workspace=request.workspace,
        user=request.user,
        kind=kind,
        request=request_fields,
        prompt=body.get("prompt") or "",
        source=JobSource.API,
        api_key=request.api_key,
        **extra,
    )


def _wait_for(job: Job) -> Job:
    """Run the job here if no worker has claimed it yet, then wait until it ends."""
    if job.status == JobStatus.QUEUED:
        runner.run_job(job.pk)
    return runner.wait(job, settings.API_SYNC_WAIT)


def _finish_sync(request, job: Job, response_format: str):
    job = _wait_for(job)
    if not job.is_final:
        raise ApiError(
            f"The image is taking longer than {settings.API_SYNC_WAIT:.0f} s. It is still "
            f"being made: poll GET /v1/tasks/{job.public_id} for it.",
            code=ErrorType.MODEL_UNAVAILABLE,
            headers={"x-task-id": job.public_id},
        )
    return images_response(
        request,
        Job.objects.select_related("reservation__settlement").get(pk=job.pk),
        response_format,
    )


def _store_upload(request, upload, *, as_asset: bool, label: str):
    try:
        if as_asset:
            stored = media.store_image(upload, workspace_id=request.workspace.id)
            return media.make_asset(
                stored,
                workspace=request.workspace,
                user=request.user,
                made_by="upload",
                prompt=label,
            )
        media.probe_image(upload)
        upload.seek(0)
        return default_storage.save(
            f"inputs/{request.workspace.id}/{request.request_id}/{upload.name or 'image.png'}",
            upload,
        )
    except media.MediaError as e:
        raise ApiError(f"{label} is not an image we can read: {e}.", param="image") from None


# ---- endpoints ---------------------------------------------------------------------------


def _generate(request, *, sync: bool):
    body = read_json(request, GENERATION_FIELDS)
    response_format = _response_format(body.get("response_format"))
    endpoint = "images.generations" + ("" if sync else ".async")
    job, _ = _submit(
        request,
        endpoint,
        _fingerprint(endpoint, body),
        lambda: _new_job(request, JobKind.GENERATE, body),
    )
    if sync:
        return _finish_sync(request, job, response_format)
    return json_response(submission_dict(job))


def _edit(request, *, sync: bool):
    reject_async_param(request)
    if request.content_type != "multipart/form-data":
        raise ApiError(
            "Image edits take multipart/form-data: the image as `image` (one file) "
            "or `image[]` (several), plus model and prompt.",
            param="Content-Type",
        )
    check_fields({**request.POST.dict(), **{k: None for k in request.FILES}}, EDIT_FIELDS)
    body = request.POST.dict()
    if "n" in body:
        body["n"] = _int_field(body["n"], "n")
    images = request.FILES.getlist("image") + request.FILES.getlist("image[]")
    if not images:
        raise ApiError(
            "Send the image to edit as `image` (or several as `image[]`).", param="image"
        )
    if len(images) > tables.MAX_EDIT_IMAGES:
        raise ApiError(f"Send at most {tables.MAX_EDIT_IMAGES} images.", param="image[]")
    response_format = _response_format(body.get("response_format"))
    mask = request.FILES.get("mask")
    endpoint = "images.edits" + ("" if sync else ".async")
    files = [*images, *([mask] if mask else [])]

    def make():
        saved: list[str] = []
        try:
            source = _store_upload(request, images[0], as_asset=True, label="image")
            saved += [source.file.name, source.thumbnail.name]
            extra = []
            for i, f in enumerate(images[1:]):
                extra.append(_store_upload(request, f, as_asset=False, label=f"image {i + 2}"))
                saved.append(extra[-1])
            inputs = {"images": extra}
            if mask:
                inputs["mask"] = _store_upload(request, mask, as_asset=False, label="mask")
                saved.append(inputs["mask"])
            return _new_job(request, JobKind.EDIT, body, source_asset=source, inputs=inputs)
        except BaseException:
            for name in saved:  # the transaction rolls back the rows; the files go too
                default_storage.delete(name)
            raise

    job, _ = _submit(request, endpoint, _fingerprint(endpoint, body, files), make)
    if sync:
        return _finish_sync(request, job, response_format)
    return json_response(submission_dict(job))


def _input_asset(request, url) -> Asset | None:
    """The image a video starts from: one of ours by its media URL, or fetched from the web."""
    if url in (None, ""):
        return None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ApiError("input_image must be an http(s) URL of an image.", param="input_image")
    parts = urlsplit(url)
    segments = parts.path.strip("/").split("/")
    if len(segments) == 3 and segments[0] == "media":
        uid, variant = segments[1], segments[2].split(".")[0]
        query = parse_qs(parts.query)
        if signing.verify(uid, variant, query.get("e", [""])[0], query.get("s", [""])[0]):
            asset = Asset.objects.for_workspace(request.workspace).filter(uid=uid).first()
            if asset is not None and not asset.is_video:
                return asset
    with tempfile.TemporaryFile() as tmp:
        try:
            download.download(url, tmp, accept=("image/",))
        except download.DownloadError as e:
            raise ApiError(
                f"input_image could not be fetched: {e.message}", param="input_image"
            ) from None
        tmp.seek(0)
        try:
            stored = media.store_image(io.BytesIO(tmp.read()), workspace_id=request.workspace.id)
        except media.MediaError as e:
            raise ApiError(
                f"input_image is not an image we can read: {e}.", param="input_image"
            ) from None
    return media.make_asset(
        stored, workspace=request.workspace, user=request.user, made_by="upload", prompt=url[:200]
    )


@require_POST
@api_view
def images_generations(request):
    return _generate(request, sync=True)


@require_POST
@api_view
def async_images_generations(request):
    return _generate(request, sync=False)


@require_POST
@api_view
def images_edits(request):
    return _edit(request, sync=True)


@require_POST
@api_view
def async_images_edits(request):
    return _edit(request, sync=False)


@require_POST
@api_view
def async_videos_generations(request):
    body = read_json(request, VIDEO_FIELDS)
    endpoint = "videos.generations"

    def make():
        source = _input_asset(request, body.get("input_image"))
        return _new_job(request, JobKind.ANIMATE, body, source_asset=source)

    job, _ = _submit(request, endpoint, _fingerprint(endpoint, body), make)
    return json_response(submission_dict(job))


@api_view
def deprecated_videos(request):
    raise ApiError(
        "Video generation is async-only: use POST /v1/async/videos/generations, "
        "then poll GET /v1/tasks/{id}."
    )


def _get_task_for_key(request, task_id: str) -> Job:
    job = (
        Job.objects.for_workspace(request.workspace)
        .select_related("reservation__settlement")
        .filter(public_id=task_id)
        .first()
    )
    if job is None:
        raise ApiError(
            f"There is no task {task_id!r} in this workspace.", code=ErrorType.NOT_FOUND, param="id"
        )
    return job


@require_GET
@api_view
def task(request, task_id: str):
    job = _get_task_for_key(request, task_id)
    runner.nudge(job)
    headers = _credit_headers(job) if job.status == JobStatus.COMPLETED else {}
    return json_response(task_dict(request, job), headers=headers)


@require_POST
@api_view
def cancel_task(request, task_id: str):
    job = _get_task_for_key(request, task_id)
    if not runner.cancel(job):
        raise ApiError(
            f"Task {task_id} is {job.status}: only a queued task can be cancelled.", param="id"
        )
    job.refresh_from_db()
    return json_response(task_dict(request, job))



@require_GET
@api_view
def tasks(request):
    check_fields(request.GET, {"limit", "after"})
    low, high, default = TASKS_LIMIT
    try:
        limit = int(request.GET.get("limit") or default)
    except ValueError:
        limit = 0
    if not low <= limit <= high:
        raise ApiError(f"limit must be a whole number from {low} to {high}.", param="limit")
    rows = (
        Job.objects.for_workspace(request.workspace)
        .filter(user=request.user)
        .select_related("reservation__settlement")
        .order_by("-created_at", "-id")
    )
    if after := request.GET.get("after"):
        anchor = rows.filter(public_id=after).first()
        if anchor is None:
            raise ApiError(f"There is no task {after!r} to page after.", param="after")
        rows = rows.filter(
            Q(created_at__lt=anchor.created_at) | Q(created_at=anchor.created_at, pk__lt=anchor.pk)
        )
    page = list(rows[: limit + 1])
    data = [task_dict(request, job) for job in page[:limit]]
    return json_response(
        {
            "object": "list",
            "data": data,
            "has_more": len(page) > limit,
            "last_id": data[-1]["id"] if data else None,
        }
    )


def model_dict(model: tables.Model) -> dict:
    columns, rows = model.price_table()
    return {
        "id": model.id,
        "object": "model",
        "created": 0,
        "owned_by": "pixapi",
        "name": model.name,
        "kind": model.kind,
        "aliases": list(model.aliases),
        "endpoints": [tables.ENDPOINT_PATHS[e] for e in model.endpoints],
        "description": model.best_for,
        "pricing": {
            "unit": "image" if model.kind == tables.IMAGE else "second",
            "credits": {
                label: {c: str(v) for c, v in zip(columns, cells, strict=True) if v is not None}
                for label, cells in rows
            },
        },
    }


@require_GET
@api_view
def models(request):
    return json_response(
        {"object": "list", "data": [model_dict(m) for m in tables.MODELS.values()]}
    )

"""The Pixapi-compatible /v1 API (../shared/API.md), on the same job pipeline as the pages.

Every call becomes a Job of the key's owner in the key's workspace: priced by the catalog,
its credits reserved before any provider call (402 otherwise), run by the same pipeline, its
outputs stored as that person's assets. Async routes queue the job and answer at once with a
task to poll; sync image routes run the job in the request instead (never both), waiting at
most API_SYNC_WAIT seconds before answering 503 with the task's id.

A POST does its slow part first — checking and storing uploads, fetching `input_image` —
with no transaction open, then one short transaction creates the rows (assets, the job, its
reservation, the Idempotency-Key record; api/submissions.py). A refusal deletes what was stored.
"""

from __future__ import annotations

import base64
import dataclasses
import tempfile
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import JsonResponse
from django.views.decorators.http import require_GET, require_POST

from studio.accounts import permissions
from studio.api.auth import api_view
from studio.api.http import ApiError, check_fields, json_response, read_form, read_json
from studio.api.submissions import Prepared, fingerprint, submit_once
from studio.catalog import tables
from studio.catalog.quote import (
    ImageOptions,
    check_prompt,
    image_options,
    money,
    quote,
    unknown_model,
)
from studio.errors import ErrorType
from studio.generations import failures, media, runner
from studio.generations.models import Asset, Job, JobKind, JobSource, JobStatus
from studio.generations.submitting import ENDPOINT_OF
from studio.lib import download, signing
from studio.lib.transactions import outside_transaction

# OpenAI's image output options: honoured, or passed upstream (catalog.quote.ImageOptions).
OPTION_FIELDS = tuple(f.name for f in dataclasses.fields(ImageOptions))
GENERATION_FIELDS = {
    "model",
    "prompt",
    "n",
    "size",
    "quality",
    "response_format",
    "user",
    "safety_identifier",
    *OPTION_FIELDS,
    "style",  # DALL·E 3's: accepted and ignored
    "stream",  # refused with a clear answer, with partial_images
    "partial_images",
}
EDIT_FIELDS = GENERATION_FIELDS
EDIT_FILES = {"image", "image[]", "mask"}
VIDEO_FIELDS = {"model", "prompt", "duration", "size", "quality", "input_image", "user"}
RESPONSE_FORMATS = ("url", "b64_json")
STYLES = ("vivid", "natural")
TASKS_LIMIT = (1, 100, 20)  # GET /v1/tasks?limit=: lowest, highest, default
TASK_STATUS = {
    JobStatus.QUEUED: "queued",
    JobStatus.PROCESSING: "processing",
    JobStatus.COMPLETED: "completed",
    JobStatus.FAILED: "failed",
    # Pixapi clients poll until completed or failed: a cancelled task must end as one.
    JobStatus.CANCELLED: "failed",
}


# ---- shaping answers ---------------------------------------------------------------------


def _absolute(request, path: str) -> str:
    if settings.STUDIO_PUBLIC_URL:
        return settings.STUDIO_PUBLIC_URL + path
    return request.build_absolute_uri(path)


def _charged(job: Job) -> str:
    settlement = getattr(getattr(job, "reservation", None), "settlement", None)
    return str(money(settlement.captured if settlement else 0))


def usage_dict(job: Job) -> dict:
    """The `usage` of every answer about a job — sync images, tasks, videos — one shape:
    OpenAI's image token counts, which the studio doesn't meter (always 0; LiteLLM and the
    SDKs require them), then what the studio does meter: `credits` charged (0 until it
    completes, and when it fails) and `reserved`, two decimals."""
    return {
        "input_tokens": 0,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": 0},
        "output_tokens": 0,
        "total_tokens": 0,
        "credits": _charged(job),
        "reserved": str(money(job.credits_quoted)),
    }


def task_dict(request, job: Job) -> dict:
    data = {
        "id": job.public_id,
        "object": "task",
        "status": TASK_STATUS[job.status],
        "progress": job.progress,
        "created_at": int(job.created_at.timestamp()),
        "model": job.model,
        "kind": job.kind,
        "usage": usage_dict(job),
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
        data["error"] = {"code": job.error_code or job.status, "message": _failure(job)}
    return data


def _failure(job: Job) -> str:
    """Why the job failed, in the API's English, without the pages' hints."""
    return failures.describe(job.error_code, job.error_params, hints=False)


def submission_dict(job: Job) -> dict:
    return {
        "status": "submitted",
        "id": job.public_id,
        "progress": 0,
        "created_at": int(job.created_at.timestamp()),
        "model": job.model,
    }


def credit_headers(job: Job) -> dict:
    return {"x-credits-charged": _charged(job)}


def images_response(request, job: Job, response_format: str | None) -> JsonResponse:
    """The sync image answer for an ended job: the images, or the error it ended with.

    Each image comes as `url` and/or `b64_json`: exactly the `response_format` asked for, or
    by the caller's convention when it is absent (see default_formats)."""
    if job.status != JobStatus.COMPLETED:
        raise ApiError(
            _failure(job),
            code=failures.reason(job.error_code).answer,
            headers=credit_headers(job),
        )
    formats = (response_format,) if response_format else default_formats(job)
    data = []
    for asset in job.assets.order_by("id"):
        item = {}
        if "url" in formats:
            item["url"] = _absolute(request, media.signed_path(asset))
        if "b64_json" in formats:
            item["b64_json"] = base64.b64encode(media.open_asset(asset)).decode()
        data.append(item)
    body = {"created": int(job.created_at.timestamp()), "data": data, "usage": usage_dict(job)}
    return json_response(body, headers=credit_headers(job))


def default_formats(job: Job) -> tuple[str, ...]:
    """What an image answer holds when no response_format is asked for: OpenAI returns base64
    for its GPT image models, and its clients (the Vercel AI SDK, LiteLLM) read b64_json for
    those and for every edit; the upstream's Gemini generations answer a url. Both where a
    client may expect either."""
    if job.kind == JobKind.EDIT or tables.MODELS[job.model].is_gpt_image:
        return RESPONSE_FORMATS
    return ("url",)


# ---- reading requests --------------------------------------------------------------------


def _model_allowed(request, model_id: str | None) -> None:
    allowed = request.api_key.allowed_models
    model = tables.get_model(model_id) if isinstance(model_id, str) else None
    if allowed and model is not None and model.id not in allowed:
        raise ApiError(f"This API key may only use {', '.join(allowed)}.", param="model")


def _response_format(value) -> str | None:
    """The response_format asked for; None when absent (see default_formats)."""
    if not value:
        return None
    if value not in RESPONSE_FORMATS:
        raise ApiError("response_format must be url or b64_json.", param="response_format")
    return value


def _request_fields(body: dict) -> dict:
    """What of a body the job keeps (Job.params): what is priced and the output options."""
    return {
        k: body.get(k)
        for k in ("model", "n", "size", "quality", "duration", *OPTION_FIELDS)
        if body.get(k) is not None
    }


def _refuse_streaming(body: dict) -> None:
    """OpenAI's image streaming isn't offered: say so, rather than 'unknown field'. style is
    DALL·E 3's and is accepted and ignored; only its values are checked."""
    if body.get("stream") is True or body.get("partial_images", 0) != 0:
        name = "stream" if body.get("stream") is True else "partial_images"
        raise ApiError(
            "Streaming is not offered: the answer comes when the images are ready. Leave out "
            "stream and partial_images, or submit to POST /v1/async/images/… and poll the task.",
            param=name,
        )
    if body.get("style") not in (None, *STYLES):
        raise ApiError("style must be vivid or natural (it is ignored).", param="style")


def _check(request, kind: str, body: dict) -> None:
    """Refuse a bad request before its slow part (uploads, a download) is done for nothing:
    the checks submit makes again, minus the credits."""
    _model_allowed(request, body.get("model"))
    check_prompt(body.get("prompt"))
    quote({**_request_fields(body), "endpoint": ENDPOINT_OF[kind]})
    if kind != JobKind.ANIMATE:
        image_options(body)


def _new_job(request, kind: str, body: dict, *, sync: bool = False, **extra) -> Job:
    _model_allowed(request, body.get("model"))
    return runner.submit(
        workspace=request.workspace,
        user=request.user,
        kind=kind,
        request=_request_fields(body),
        prompt=body.get("prompt") or "",
        source=JobSource.API,
        api_key=request.api_key,
        enqueue_job=not sync,  # a sync call runs its job itself
        **extra,
    )


def _finish_sync(request, job: Job, replayed: bool, response_format: str):
    """Run the sync call's job here (or, for a repeat, wait for the first call's), for at
    most API_SYNC_WAIT seconds; answer with its images, its error, or a 503 with its id."""
    if replayed:
        job = runner.wait(job, settings.API_SYNC_WAIT)
    else:
        job = runner.run_in_request(job, settings.API_SYNC_WAIT)
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


def _store_uploads(request, images, mask, param: str = "image") -> Prepared:
    """Check every uploaded image and store it (the first as the asset to edit or animate,
    the others and the mask as the job's inputs): slow, so before any transaction."""
    prepared = Prepared()
    try:
        with _unreadable(param, param):
            prepared.source = media.store_image(images[0], workspace_id=request.workspace.id)
        prepared.inputs["images"] = []
        for i, upload in enumerate(images[1:]):
            name = _store_input(request, upload, f"image {i + 2}", param)
            prepared.names.append(name)
            prepared.inputs["images"].append(name)
        if mask:
            prepared.inputs["mask"] = _store_input(request, mask, "mask", "mask")
            prepared.names.append(prepared.inputs["mask"])
    except BaseException:
        prepared.discard()
        raise
    return prepared


@contextmanager
def _unreadable(label: str, param: str):
    """Answer 400 for an upload that isn't an image we can read."""
    try:
        yield
    except media.MediaError as e:
        raise ApiError(f"{label} is not an image we can read: {e}.", param=param) from None


def _store_input(request, upload, label: str, param: str) -> str:
    """Check that an extra upload (a reference image, a mask) is an image; store it as is."""
    with _unreadable(label, param):
        media.probe_image(upload)
    upload.seek(0)
    outside_transaction("storing an upload")
    return default_storage.save(
        f"inputs/{request.workspace.id}/{request.request_id}/{upload.name or 'image.png'}", upload
    )


def submit_video(request, endpoint: str, body: dict, *, image=None, param="input_image") -> Job:
    """Check and submit a video job — Pixapi's async route and OpenAI's Videos API alike:
    `body` as the catalog reads it (model, prompt, duration, size), `image` the picture to
    animate: a URL (of ours, or fetched) or an upload. Return the job (queued)."""
    url = image if isinstance(image, str) else None
    upload = image if image is not None and url is None else None
    if url is not None and not url.startswith(("http://", "https://")):
        raise ApiError(f"{param} must be an http(s) URL of an image.", param=param)
    _check(request, JobKind.ANIMATE, body)
    ours = _our_asset(request, url) if url else None

    def make(prepared: Prepared) -> Job:
        source = ours
        if prepared.source is not None:
            source = Asset.objects.create_from(
                prepared.source,
                workspace=request.workspace,
                user=request.user,
                made_by="upload",
                prompt=(url or upload.name or param)[:200],
            )
        return _new_job(request, JobKind.ANIMATE, body, source_asset=source)

    def prepare() -> Prepared:
        if upload is not None:
            return _store_uploads(request, [upload], None, param)
        return _fetch_input_image(request, url, param) if url and ours is None else Prepared()

    files = [upload] if upload is not None else []
    job, _ = submit_once(request, endpoint, fingerprint(endpoint, body, files), make, prepare)
    return job


# ---- endpoints ---------------------------------------------------------------------------


def _generate(request, *, sync: bool):
    body = read_json(request, GENERATION_FIELDS)
    _refuse_streaming(body)
    response_format = _response_format(body.get("response_format"))
    endpoint = "images.generations" + ("" if sync else ".async")
    job, replayed = submit_once(
        request,
        endpoint,
        fingerprint(endpoint, body),
        lambda prepared: _new_job(request, JobKind.GENERATE, body, sync=sync),
    )
    if sync:
        return _finish_sync(request, job, replayed, response_format)
    return json_response(submission_dict(job))


def _edit(request, *, sync: bool):
    if request.content_type != "multipart/form-data":
        raise ApiError(
            "Image edits take multipart/form-data: the image as `image` (one file) "
            "or `image[]` (several), plus model and prompt.",
            param="Content-Type",
        )
    body = read_form(request, EDIT_FIELDS, EDIT_FILES)
    _refuse_streaming(body)
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

    def make(prepared: Prepared) -> Job:
        source = Asset.objects.create_from(
            prepared.source,
            workspace=request.workspace,
            user=request.user,
            made_by="upload",
            prompt="image",
        )
        return _new_job(
            request, JobKind.EDIT, body, sync=sync, source_asset=source, inputs=prepared.inputs
        )

    _check(request, JobKind.EDIT, body)
    job, replayed = submit_once(
        request,
        endpoint,
        fingerprint(endpoint, body, files),
        make,
        prepare=lambda: _store_uploads(request, images, mask),
    )
    if sync:
        return _finish_sync(request, job, replayed, response_format)
    return json_response(submission_dict(job))


def _our_asset(request, url: str) -> Asset | None:
    """The image asset of this workspace a media URL of ours points to, if it is one."""
    parts = urlsplit(url)
    segments = parts.path.strip("/").split("/")
    if len(segments) != 3 or segments[0] != "media":
        return None
    uid, variant = segments[1], segments[2].split(".")[0]
    query = parse_qs(parts.query)
    if not signing.verify(uid, variant, query.get("e", [""])[0], query.get("s", [""])[0]):
        return None
    asset = Asset.objects.for_workspace(request.workspace).filter(uid=uid).first()
    return asset if asset is not None and not asset.is_video else None


def _fetch_input_image(request, url, param: str) -> Prepared:
    """Fetch and check the image a video starts from, when it isn't one of ours: slow (a URL
    may drip its bytes for a minute), so before any transaction."""
    prepared = Prepared()
    with tempfile.TemporaryFile(dir=media.temp_dir()) as tmp:
        try:
            download.download(url, tmp, accept=("image/",))
        except download.DownloadError as e:
            raise ApiError(f"{param} could not be fetched: {e.message}", param=param) from None
        with _unreadable(param, param):
            prepared.source = media.store_image(tmp, workspace_id=request.workspace.id)
    return prepared


@require_POST
@api_view(require=permissions.require_create)
def images_generations(request):
    return _generate(request, sync=True)


@require_POST
@api_view(require=permissions.require_create)
def async_images_generations(request):
    return _generate(request, sync=False)


@require_POST
@api_view(require=permissions.require_create)
def images_edits(request):
    return _edit(request, sync=True)


@require_POST
@api_view(require=permissions.require_create)
def async_images_edits(request):
    return _edit(request, sync=False)


@require_POST
@api_view(require=permissions.require_create)
def async_videos_generations(request):
    body = read_json(request, VIDEO_FIELDS)
    job = submit_video(request, "videos.generations", body, image=body.get("input_image") or None)
    return json_response(submission_dict(job))


@api_view
def deprecated_videos(request):
    raise ApiError(
        "Video generation is async-only: use POST /v1/async/videos/generations, "
        "then poll GET /v1/tasks/{id} (or OpenAI's Videos API: POST /v1/videos)."
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
    headers = credit_headers(job) if job.status == JobStatus.COMPLETED else {}
    return json_response(task_dict(request, job), headers=headers)


@require_POST
@api_view
def cancel_task(request, task_id: str):
    job = _get_task_for_key(request, task_id)
    permissions.require_change_job(request.membership, job, "cancel")
    if not runner.cancel(job):
        job.refresh_from_db()
        raise ApiError(
            f"Task {task_id} is {job.status}: only a queued task, or a running one whose "
            "model can stop, can be cancelled.",
            param="id",
        )
    job.refresh_from_db()
    return json_response(task_dict(request, job))


@require_GET
@api_view
def tasks(request):
    check_fields(request.GET, {"limit", "after"})
    rows = (
        Job.objects.for_workspace(request.workspace)
        .filter(user=request.user)
        .select_related("reservation__settlement")
    )
    page, has_more = page_of(request, rows, "task")
    data = [task_dict(request, job) for job in page]
    return json_response(
        {
            "object": "list",
            "data": data,
            "has_more": has_more,
            "last_id": data[-1]["id"] if data else None,
        }
    )


def page_of(request, rows, noun: str, newest_first: bool = True) -> tuple[list[Job], bool]:
    """One page of the jobs `rows`, by ?limit= and the ?after= cursor (a job id), newest
    first unless told otherwise; return (jobs, whether more follow)."""
    low, high, default = TASKS_LIMIT
    try:
        limit = int(request.GET.get("limit") or default)
    except ValueError:
        limit = 0
    if not low <= limit <= high:
        raise ApiError(f"limit must be a whole number from {low} to {high}.", param="limit")
    sign = "-" if newest_first else ""
    rows = rows.order_by(f"{sign}created_at", f"{sign}id")
    if after := request.GET.get("after"):
        anchor = rows.filter(public_id=after).first()
        if anchor is None:
            raise ApiError(f"There is no {noun} {after!r} to page after.", param="after")
        beyond = "lt" if newest_first else "gt"
        rows = rows.filter(
            Q(**{f"created_at__{beyond}": anchor.created_at})
            | Q(created_at=anchor.created_at, **{f"pk__{beyond}": anchor.pk})
        )
    page = list(rows[: limit + 1])
    return page[:limit], len(page) > limit


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
        "tier_ids": model.ids_by_tier,
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


@require_GET
@api_view
def model(request, model_id: str):
    """One model in OpenAI's shape; an alias or a per-tier id answers with its canonical entry."""
    found = tables.get_model(model_id)
    if found is None:
        raise unknown_model(model_id)
    return json_response(model_dict(found))

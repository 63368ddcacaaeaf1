"""OpenAI's Videos API, beside Pixapi's async route and on the same jobs, prices and credits.

`POST /v1/videos` (JSON or multipart: model, prompt, seconds, size, input_reference) makes
the same Job as `POST /v1/async/videos/generations`: `seconds` is the duration, an uploaded
`input_reference` (or `{"image_url": …}` in JSON) the picture to animate, and the defaults
are OpenAI's (4 s, 720x1280). The video is answered in OpenAI's shape, with its status names
(queued, in_progress, completed, failed — a cancelled one is failed), and
`GET /v1/videos/{id}/content` serves the MP4 (with Range) or its poster (`variant=thumbnail`).

`DELETE /v1/videos/{id}` stops a video still being made (when its model can stop; its
credits are released) and takes a finished one's file out of the gallery: it is then gone
from this API. A failed video has no file and stays listed as failed.
"""

from __future__ import annotations

import base64
import binascii
import re

from django.core.files.base import ContentFile
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from studio.accounts import permissions
from studio.api.auth import api_view
from studio.api.http import ApiError, check_fields, json_response, read_form, read_json
from studio.api.views import credit_headers, page_of, submit_video, usage_dict
from studio.catalog import tables
from studio.errors import ErrorType, StudioError
from studio.generations import failures, runner
from studio.generations.models import ACTIVE_STATUSES, Asset, Job, JobKind, JobStatus
from studio.generations.views import asset_response

FIELDS = {"model", "prompt", "seconds", "size", "user", "input_reference"}
STATUS = {
    JobStatus.QUEUED: "queued",
    JobStatus.PROCESSING: "in_progress",
    JobStatus.COMPLETED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "failed",
}
VARIANTS = {"video": "file", "thumbnail": "thumb"}
_DATA_URL = re.compile(r"^data:(image/[\w.+-]+);base64,(.*)$", re.DOTALL)


def video_dict(job: Job) -> dict:
    """A video job in the shape of OpenAI's Video object, with the studio's usage."""
    q = job.quote_obj
    failed = job.status in (JobStatus.FAILED, JobStatus.CANCELLED)
    return {
        "id": job.public_id,
        "object": "video",
        "model": job.model,
        "status": STATUS[job.status],
        "progress": job.progress,
        "created_at": int(job.created_at.timestamp()),
        "completed_at": (
            int(job.finished_at.timestamp()) if job.status == JobStatus.COMPLETED else None
        ),
        "expires_at": None,  # the file is kept until it is deleted
        "prompt": job.prompt,
        "seconds": str(q.duration),
        "size": q.size,
        "remixed_from_video_id": None,
        "error": (
            {
                "code": job.error_code or job.status,
                "message": failures.describe(job.error_code, job.error_params, hints=False),
            }
            if failed
            else None
        ),
        "usage": usage_dict(job),
    }


def _videos(request):
    """The workspace's videos, but not those whose file was deleted."""
    live = Exists(Asset.objects.filter(job=OuterRef("pk"), deleted_at__isnull=True))
    return (
        Job.objects.for_workspace(request.workspace)
        .filter(kind=JobKind.ANIMATE)
        .filter(~Q(status=JobStatus.COMPLETED) | Q(live))
        .select_related("reservation__settlement")
    )


def _get_video(request, video_id: str) -> Job:
    job = _videos(request).filter(public_id=video_id).first()
    if job is None:
        raise ApiError(
            f"There is no video {video_id!r} in this workspace.",
            code=ErrorType.NOT_FOUND,
            param="id",
        )
    return job


@require_http_methods(["GET", "POST"])
@api_view
def videos(request):
    if request.method == "GET":
        return _list(request)
    permissions.require_create(request.membership)
    return _create(request)


def _create(request):
    if request.content_type == "application/json":
        body = read_json(request, FIELDS)
        image = _reference(body.get("input_reference"))
    elif request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        body = read_form(request, FIELDS - {"input_reference"}, {"input_reference"})
        uploads = request.FILES.getlist("input_reference")
        if len(uploads) > 1:
            raise ApiError("Send one input_reference.", param="input_reference")
        image = uploads[0] if uploads else None
    else:
        raise ApiError(
            "Send the video request as multipart/form-data (input_reference as a file) or as JSON.",
            param="Content-Type",
        )
    request_body = {
        "model": body.get("model"),
        "prompt": body.get("prompt"),
        "duration": body.get("seconds", tables.OPENAI_VIDEO_SECONDS),
        "size": body.get("size", tables.OPENAI_VIDEO_SIZE),
    }
    try:
        job = submit_video(request, "videos", request_body, image=image, param="input_reference")
    except StudioError as e:
        if e.param != "duration":
            raise
        # The catalog's word for it is Pixapi's; this API calls it seconds.
        raise ApiError(e.message.replace("duration", "seconds"), param="seconds") from None
    return json_response(video_dict(job))


def _reference(reference):
    """The picture to animate from JSON's input_reference: {"image_url": an http(s) URL, or
    a base64 data URL}; None without one."""
    if reference is None:
        return None
    url = reference.get("image_url")
    if "file_id" in reference:
        raise ApiError(
            "input_reference by file_id is not offered: upload the image as input_reference "
            '(multipart), or send {"image_url": "https://…"}.',
            param="input_reference",
        )
    if not isinstance(url, str) or not url:
        raise ApiError(
            'input_reference must be {"image_url": "https://…"} (or an uploaded file).',
            param="input_reference",
        )
    if match := _DATA_URL.match(url):
        try:
            data = base64.b64decode(match[2], validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(
                "input_reference's data URL is not valid base64.", param="input_reference"
            ) from None
        return ContentFile(data, name="input_reference")
    return url


def _list(request):
    check_fields(request.GET, {"limit", "after", "order"})
    order = request.GET.get("order", "desc")
    if order not in ("asc", "desc"):
        raise ApiError("order must be asc or desc.", param="order")
    page, has_more = page_of(
        request, _videos(request).filter(user=request.user), "video", order == "desc"
    )
    data = [video_dict(job) for job in page]
    return json_response(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": has_more,
        }
    )


@require_http_methods(["GET", "DELETE"])
@api_view
def video(request, video_id: str):
    job = _get_video(request, video_id)
    if request.method == "DELETE":
        return json_response(_delete(request, job))
    runner.nudge(job)
    headers = credit_headers(job) if job.status == JobStatus.COMPLETED else {}
    return json_response(video_dict(job), headers=headers)


def _delete(request, job: Job) -> dict:
    permissions.require_change_job(request.membership, job, "delete")
    if job.status in ACTIVE_STATUSES and not runner.cancel(job):
        job.refresh_from_db()
        if job.status in ACTIVE_STATUSES:
            raise ApiError(
                f"Video {job.public_id} is still being made and its model can't stop: "
                "delete it once it has ended.",
                param="id",
            )
    Asset.objects.filter(job=job).discard(timezone.now())
    return {"id": job.public_id, "object": "video.deleted", "deleted": True}


@require_GET
@api_view
def video_content(request, video_id: str):
    """The finished video's MP4 (or with variant=thumbnail its poster JPEG), with Range."""
    check_fields(request.GET, {"variant"})
    variant = request.GET.get("variant", "video")
    if variant not in VARIANTS:
        raise ApiError(
            "variant must be video or thumbnail (spritesheets are not offered).", param="variant"
        )
    job = _get_video(request, video_id)
    asset = job.assets.filter(deleted_at__isnull=True).order_by("id").first()
    if asset is None:
        raise ApiError(
            f"Video {job.public_id} is {STATUS[job.status]}: it has content once completed.",
            code=ErrorType.NOT_FOUND,
            param="id",
        )
    try:
        response = asset_response(request, asset, VARIANTS[variant])
    except Http404:
        raise ApiError(
            f"The file of video {job.public_id} is missing from storage.",
            code=ErrorType.NOT_FOUND,
            param="id",
        ) from None
    response["Cache-Control"] = "private, no-cache"
    return response

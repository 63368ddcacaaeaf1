"""Going on from a job: where "Use prompt" opens, and whether a running job can be stopped."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from studio.front import options as o
from studio.generations.models import Asset, Job, JobKind, JobStatus
from studio.providers.base import get_provider


def reference_assets(job: Job) -> list[Asset]:
    """The gallery images a job started from, in order: its source, then the references
    picked in the studio (references sent through the API are files, not gallery images)."""
    names = job.inputs.get("images") or []
    by_name = {
        a.file.name: a for a in Asset.objects.filter(workspace=job.workspace_id, file__in=names)
    }
    source = [job.source_asset] if job.source_asset else []
    return source + [by_name[n] for n in names if n in by_name]


def use_prompt_url(job: Job) -> str:
    """The page whose form `job`'s prompt and settings fill: the studio's composer, or the
    edit / animate page of the image it started from."""
    q = job.quote
    if job.kind == JobKind.ANIMATE:
        params = {
            "prompt": job.prompt,
            "model": job.model,
            "quality": q.get("quality") or "",
            "aspect": o.aspect_of(q["width"], q["height"]),
            "resolution": q.get("tier") or "",
            "duration": q.get("duration") or "",
        }
        if job.source_asset:
            return f"{job.source_asset.get_animate_url()}?{urlencode(params)}"
        return f"{reverse('studio')}?{urlencode({'mode': 'video', **params})}"
    params = {
        "prompt": job.prompt,
        "model": job.model,
        "size": job.params.get("size") or q.get("size"),
        "quality": q.get("quality") or "",
        "n": q.get("n") or 1,
    }
    if job.kind == JobKind.EDIT and job.inputs.get("mask") and job.source_asset:
        return f"{job.source_asset.get_edit_url()}?{urlencode(params)}"  # the mask is there
    refs = [("reference", a.uid) for a in reference_assets(job)] if job.kind == JobKind.EDIT else []
    return f"{reverse('studio')}?{urlencode([*params.items(), *refs])}"


def can_cancel(job: Job) -> bool:
    """True when a Cancel button would stop `job`: it hasn't started, or it runs on a
    provider that can stop running work (`can_cancel`; Pixapi documents no cancel)."""
    if job.status == JobStatus.QUEUED:
        return True
    if job.status != JobStatus.PROCESSING:
        return False
    return bool(getattr(get_provider(job.provider), "can_cancel", False))

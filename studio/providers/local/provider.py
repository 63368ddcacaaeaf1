"""The local renderer: the provider itself and the render task (see the package docstring)."""

from __future__ import annotations

import logging
import os
import random
import secrets
import time
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from studio.catalog.quote import NO_OPTIONS, ImageOptions
from studio.catalog.tables import MODELS
from studio.lib import encode
from studio.lib.transactions import outside_transaction
from studio.providers.base import (
    COMPLETED,
    FAILED,
    SUBMITTED,
    Fetched,
    ImageResult,
    InputImage,
    MediaOutput,
    Provider,
    ProviderError,
    TaskState,
    fetch_output,
)
from studio.providers.local import edits, paint, video
from studio.providers.local.models import LocalTask

log = logging.getLogger(__name__)

# How often a render records progress; must stay well under models.STALE_AFTER.
HEARTBEAT_EVERY = 1.0
# `created` in the model list: when this catalog was first published (a fixed date, so the list
# is the same on every machine).
MODELS_CREATED = 1767225600  # 2026-01-01


class InjectedFailure(Exception):
    """Raised inside a render that LOCAL_PROVIDER_FAIL_RATE chose to fail."""


class Superseded(Exception):
    """Raised inside a render whose task is no longer its own: cancelled, or queued again
    after it was presumed dead."""


def injected_failure_message() -> str:
    rate = settings.LOCAL_PROVIDER_FAIL_RATE
    return (
        "The local renderer failed on purpose: LOCAL_PROVIDER_FAIL_RATE is "
        f"{rate:g}, so {'every call fails' if rate >= 1 else f'about {rate:.0%} of calls fail'}"
        " to show how failures are handled. Set it to 0 to stop."
    )


def _should_fail() -> bool:
    # random() is in [0, 1): a rate of 1 always fails, 0 never does.
    return random.random() < settings.LOCAL_PROVIDER_FAIL_RATE


def _parse_size(size: str) -> tuple[int, int]:
    try:
        width, height = (int(side) for side in size.lower().split("x"))
    except ValueError:
        width = height = 0
    if width < 1 or height < 1:
        raise ProviderError(
            f"size must be WIDTHxHEIGHT, not {size!r}.",
            permanent=True,
            status=400,
            code="invalid_request_error",
        )
    return width, height


def media_dir() -> Path:
    return Path(settings.LOCAL_PROVIDER_MEDIA_DIR)


def _write_atomically(path: Path, write) -> None:
    """Call write(file) on a temporary file beside `path`, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with temporary.open("wb") as f:
            write(f)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def enqueue_render(task_id: str) -> None:
    """Queue the render of LocalTask `task_id` on django-q2 — the one place that does."""
    from django_q.tasks import async_task

    async_task(
        "studio.providers.local.provider.render_video_task",
        task_id,
        task_name=f"render-{task_id}",
        group="local-render",
    )


class LocalProvider(Provider):
    name = "local"
    # Rendering again costs nothing, so a crashed image job may simply be run again.
    idempotent_submit = True
    needs_public_input_url = False
    # A render stops at its next heartbeat once its task is cancelled; an image call's
    # result is simply not kept.
    can_cancel = True

    def _start_call(self) -> None:
        outside_transaction("calling the local renderer")
        if latency := settings.LOCAL_PROVIDER_LATENCY:
            time.sleep(latency)

    def _fail_if_chosen(self) -> None:
        if _should_fail():
            raise ProviderError(
                injected_failure_message(), permanent=False, status=503, code="model_unavailable"
            )

    def _save(self, image, options: ImageOptions) -> MediaOutput:
        """Save `image` in the asked output format (PNG by default)."""
        fmt = options.output_format or "png"
        path = media_dir() / "images" / f"img_{secrets.token_hex(12)}.{encode.EXTENSIONS[fmt]}"
        _write_atomically(path, lambda f: encode.save(image, f, fmt, options.output_compression))
        return MediaOutput(path=str(path), content_type=encode.CONTENT_TYPES[fmt])

    def generate_images(
        self,
        *,
        model: str,
        prompt: str,
        n: int,
        size: str,
        quality: str | None,
        options: ImageOptions = NO_OPTIONS,
    ) -> ImageResult:
        """Return `n` pictures painted from `prompt`; output i uses seed i, so they differ.
        A transparent background leaves the near things alone on transparency."""
        self._start_call()
        width, height = _parse_size(size)
        self._fail_if_chosen()
        return ImageResult(
            [
                self._save(
                    paint.render_image(prompt, i, width, height, transparent=options.transparent),
                    options,
                )
                for i in range(n)
            ]
        )

    def edit_images(
        self,
        *,
        model: str,
        prompt: str,
        images: list[InputImage],
        mask: InputImage | None,
        n: int,
        size: str,
        quality: str | None,
        options: ImageOptions = NO_OPTIONS,
    ) -> ImageResult:
        """Return `n` edits of images[0] as `prompt` asks (the others are references)."""
        self._start_call()
        width, height = _parse_size(size)
        if not images:
            raise ProviderError(
                "An edit needs an image.", permanent=True, status=400, code="invalid_request_error"
            )
        self._fail_if_chosen()
        try:
            pictures = [
                edits.edit_image(
                    images[0].data,
                    prompt,
                    width=width,
                    height=height,
                    seed=i,
                    mask=mask.data if mask else None,
                    references=[image.data for image in images[1:]],
                )
                for i in range(n)
            ]
        except edits.EditInputError as exc:
            raise ProviderError(
                str(exc), permanent=True, status=400, code="invalid_request_error"
            ) from exc
        return ImageResult([self._save(picture, options) for picture in pictures])

    def submit_video(
        self,
        *,
        model: str,
        prompt: str,
        duration: int,
        size: str,
        quality: str | None,
        input_image: InputImage | None,
    ) -> TaskState:
        """Queue a render and return its task, status "submitted"."""
        self._start_call()
        width, height = _parse_size(size)
        if width % 2 or height % 2:
            raise ProviderError(
                f"size {size}: video needs an even width and height.",
                permanent=True,
                status=400,
                code="invalid_request_error",
            )
        task_id = f"task_{secrets.token_hex(12)}"
        input_path = None
        if input_image is not None:
            input_path = media_dir() / "inputs" / f"{task_id}.img"
            _write_atomically(input_path, lambda f: f.write(input_image.data))
        now = timezone.now()
        LocalTask.objects.create(
            id=task_id,
            request={
                "model": model,
                "prompt": prompt,
                "duration": duration,
                "size": f"{width}x{height}",
                "quality": quality,
                "input": str(input_path) if input_path else None,
            },
            heartbeat_at=now,
            created_at=now,
        )
        # After commit: a worker must not look for the row before it exists for everyone.
        transaction.on_commit(partial(enqueue_render, task_id))
        return TaskState(id=task_id, status=SUBMITTED, progress=0)

    def get_task(self, task_id: str) -> TaskState:
        """Return the task; queue a render that died or never started again (see module doc)."""
        self._start_call()
        task = LocalTask.objects.filter(pk=task_id).first()
        if task is None:
            raise ProviderError(
                f"There is no task {task_id}.", permanent=True, status=404, code="not_found"
            )
        if task.requeue_if_stale(timezone.now()):
            log.warning(
                "Local render %s stopped; queued again as attempt %s", task.id, task.attempt
            )
            try:
                enqueue_render(task.id)
            except Exception:
                # The next poll after STALE_AFTER tries again.
                log.exception("Could not queue local render %s again", task.id)
        return task_state(task)

    def cancel(self, task_id: str) -> bool:
        """Cancel the render: a queued one never starts, a running one stops at its next
        heartbeat (LocalTask.beat fails) and leaves no file behind."""
        task = LocalTask.objects.filter(pk=task_id).first()
        if task is None or not task.cancel(timezone.now()):
            return False
        _forget_input(task.request)
        return True

    def list_models(self) -> list[dict]:
        """Return the catalog's models as `GET /v1/models` objects."""
        self._start_call()
        return [
            {
                "id": model.id,
                "object": "model",
                "created": MODELS_CREATED,
                "owned_by": "pixapi-studio-local",
                "name": model.name,
                "kind": model.kind,
                "aliases": list(model.aliases),
            }
            for model in MODELS.values()
        ]

    def fetch(self, output: MediaOutput, dest: IO[bytes]) -> Fetched:
        """Copy an output of this provider into `dest` (files only from its own storage)."""
        return fetch_output(output, dest, root=media_dir())


def task_state(task: LocalTask) -> TaskState:
    state = TaskState(id=task.id, status=task.status, progress=task.progress)
    if task.status == COMPLETED:
        state.outputs = [MediaOutput(path=task.output_path, content_type="video/mp4")]
    elif task.status == FAILED:
        state.error_code, state.error_message = task.error_code, task.error_message
    return state


def render_video_task(task_id: str) -> str:
    """Render LocalTask `task_id` (the django-q2 task; tests call it directly).

    Return what happened: "completed", "failed", "superseded" (the task was cancelled, or
    another attempt owns it now) or "skipped" (a duplicate delivery, or the task is finished
    or unknown).
    """
    task = LocalTask.objects.filter(pk=task_id).first()
    if task is None or not task.claim(timezone.now()):
        return "skipped"
    request = task.request
    width, height = _parse_size(request["size"])
    total = video.FPS * request["duration"]
    # A render chosen to fail does so part-way, as a real model that gives up would.
    fail_at = round(total * random.uniform(0.3, 0.6)) if _should_fail() else None
    last_beat = time.monotonic()

    def on_progress(done: int, total: int) -> None:
        nonlocal last_beat
        if fail_at is not None and done >= fail_at:
            task.beat(done * 100 // total, timezone.now())  # the failed task shows how far it got
            raise InjectedFailure
        if time.monotonic() - last_beat >= HEARTBEAT_EVERY:
            last_beat = time.monotonic()
            # 99 at most: 100 means the file is in place.
            if not task.beat(min(99, done * 100 // total), timezone.now()):
                raise Superseded

    out_path = media_dir() / "videos" / f"{task.id}-{task.attempt}.mp4"
    # A killed attempt's ffmpeg finishes its partial file when its input pipe closes.
    for leftover in out_path.parent.glob(f".{task.id}-*.part"):
        leftover.unlink(missing_ok=True)
    try:
        input_data = Path(request["input"]).read_bytes() if request.get("input") else None
        seconds = video.render_video(
            prompt=request["prompt"],
            width=width,
            height=height,
            duration=request["duration"],
            out_path=out_path,
            input_image=input_data,
            on_progress=on_progress,
        )
    except Superseded:
        log.info(
            "Local render %s attempt %s no longer owns its task (cancelled, or queued again); "
            "stopping",
            task.id,
            task.attempt,
        )
        return "superseded"
    except InjectedFailure:
        code, message = "model_unavailable", injected_failure_message()
    except Exception:
        log.exception("Local render %s failed", task.id)
        code = "internal_error"
        message = "The local renderer could not make this video; see the worker's log."
    else:
        if task.complete(str(out_path), Decimal(str(seconds)), timezone.now()):
            _forget_input(request)
            return "completed"
        # Presumed dead while it finished: the attempt that replaced it delivers instead.
        out_path.unlink(missing_ok=True)
        return "superseded"
    # Only the owner of the task ends it (and only then is the input no longer needed).
    if task.fail(code, message, timezone.now()):
        _forget_input(request)
        return "failed"
    return "superseded"


def _forget_input(request: dict) -> None:
    if request.get("input"):
        Path(request["input"]).unlink(missing_ok=True)

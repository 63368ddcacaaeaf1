"""The provider interface: what the job pipeline asks of an image/video backend.

Two implementations: `local` (an offline Pillow + ffmpeg renderer, the default) and `pixapi`
(an httpx client of ../shared/API.md). `get_provider()` returns the configured one.

Contract, for every method:

- Arguments are already validated and normalised by the catalog (`studio.catalog.quote`):
  canonical model ids, `size` as "WIDTHxHEIGHT", `quality` normalised or None, `options`
  (ImageOptions: output format and compression, background, moderation, input fidelity)
  honoured where the provider can and passed on where it can't. The pipeline converts an
  image to the asked output format if a provider answers another.
- Results are plain objects (below). A provider never touches our database models, never
  stores into our media storage and never moves credits: the job pipeline does that.
- Every failure is a ProviderError. `permanent=True` means repeating the same call will fail
  the same way (bad request, content policy, unknown task); `permanent=False` means it may
  work later (rate limited, unavailable, timeout, connection trouble). `message` is safe to
  show a user: it never contains a key, a provider URL or a stack trace.
- `generate_images` / `edit_images` / `submit_video` spend money upstream and are not
  idempotent: an implementation retries them only when the platform certainly did not accept
  the call. `get_task` and `list_models` are reads and may be retried freely.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings
from django.utils.module_loading import import_string

from studio.catalog.quote import NO_OPTIONS, ImageOptions
from studio.lib import download
from studio.lib.download import Fetched

# Task statuses as a provider reports them. Anything not final is "still running".
SUBMITTED, QUEUED, PROCESSING, COMPLETED, FAILED = (
    "submitted",
    "queued",
    "processing",
    "completed",
    "failed",
)
FINAL_STATUSES = (COMPLETED, FAILED)


class ProviderError(Exception):
    """A provider call failed. See the module docstring for `permanent`.

    `code` names the failure (a row of generations.failures: the error table's names as the
    upstream answered them, or the downloader's codes). `detail` is what a job's failure
    quotes of it: the upstream's own words when it gave some (else the message).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        code: str = "generation_failed",
        retry_after: float | None = None,
        detail: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.detail = message if detail is None else detail

    def __repr__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return f"ProviderError({kind}, {self.status}, {self.code!r}, {self.message!r})"


@dataclass
class InputImage:
    """An image we send to a provider (an edit source, a mask, or a video's first frame).

    `data` is always there. `url` is a signed, expiring URL of ours that the upstream platform
    can fetch, or None when STUDIO_PUBLIC_URL is not configured.
    """

    data: bytes
    filename: str = "image.png"
    content_type: str = "image/png"
    url: str | None = None


@dataclass
class MediaOutput:
    """One produced file. Exactly one of `url` (remote, expiring), `path` (a local file the
    provider owns) or `data` (inline bytes) is set; `fetch()` copies it into a file of ours."""

    url: str | None = None
    path: str | None = None
    data: bytes | None = None
    content_type: str | None = None


@dataclass
class ImageResult:
    outputs: list[MediaOutput]


@dataclass
class TaskState:
    """An async task as the provider last reported it."""

    id: str
    status: str
    progress: int = 0
    outputs: list[MediaOutput] = field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    # No duration: what a video lasts is measured in the file we store, never taken from
    # what a provider says (generations.outputs).

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class Provider(ABC):
    name: str = ""
    # True when repeating a submit that may or may not have been accepted costs nothing
    # (the local renderer). A crashed worker's image job is then run again instead of failed.
    idempotent_submit: bool = False
    # True when image-to-video needs InputImage.url (the upstream fetches it itself).
    needs_public_input_url: bool = False
    # True when work it has started can be stopped: `cancel` stops an async task, and a
    # synchronous call in progress may simply be abandoned (its result is discarded, and
    # nothing is charged upstream). Pixapi documents no cancel, so it can't.
    can_cancel: bool = False

    # The calls /metrics counts and times (studio.ops.metrics: studio_provider_*), by the
    # operation label they are shown with.
    METERED = {
        "generate_images": "generate",
        "edit_images": "edit",
        "submit_video": "submit_video",
        "get_task": "get_task",
        "cancel": "cancel",
        "fetch": "fetch",
    }

    def __init_subclass__(cls, **kwargs):
        from studio.ops.metrics import metered

        super().__init_subclass__(**kwargs)
        for name, operation in cls.METERED.items():
            if name in vars(cls):
                setattr(cls, name, metered(operation)(vars(cls)[name]))

    @abstractmethod
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
        """Return `n` images for `prompt`. Raise ProviderError."""

    @abstractmethod
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
        """Return `n` edits of `images` (the first is the one to edit). Raise ProviderError."""

    @abstractmethod
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
        """Start an async video and return its task (an id and status). Raise ProviderError."""

    @abstractmethod
    def get_task(self, task_id: str) -> TaskState:
        """Return the task's current state. Raise ProviderError (permanent when unknown)."""

    def cancel(self, task_id: str) -> bool:
        """Stop the async task `task_id`; return False when it had already ended. Only called
        when `can_cancel`. Raise ProviderError."""
        raise NotImplementedError(f"{self.name} can't cancel tasks")

    @abstractmethod
    def list_models(self) -> list[dict]:
        """Return the provider's model list as `GET /v1/models` objects."""

    @abstractmethod
    def fetch(self, output: MediaOutput, dest: IO[bytes]) -> Fetched:
        """Copy `output` into the open binary file `dest`; return its type and size.

        Raise ProviderError when it can't be fetched, is larger than
        PROVIDER_MAX_DOWNLOAD_BYTES or is not an image or video.
        """


def fetch_output(output: MediaOutput, dest: IO[bytes], *, root: Path | None = None) -> Fetched:
    """Copy a MediaOutput (a URL, inline data, or a file under `root`, the provider's own
    storage) into `dest` with the guarded downloader's checks. Raise ProviderError."""
    try:
        if output.url:
            return download.download(output.url, dest)
        if output.data is not None:
            return download.copy_data(output.data, dest, declared=output.content_type)
        if output.path:
            return download.copy_file(output.path, dest, root=root, declared=output.content_type)
    except download.DownloadError as e:
        raise ProviderError(e.message, permanent=e.permanent, status=e.status, code=e.code) from e
    raise ProviderError(
        "The output has no URL, file or data.", permanent=True, code=download.FAILED
    )


PROVIDERS = {
    "local": "studio.providers.local.LocalProvider",
    "pixapi": "studio.providers.pixapi.PixapiProvider",
}
_instances: dict[str, Provider] = {}


def get_provider(name: str | None = None) -> Provider:
    """Return the provider named by STUDIO_PROVIDER (or `name`), one instance per process."""
    name = name or settings.STUDIO_PROVIDER
    if name not in _instances:
        _instances[name] = import_string(PROVIDERS[name])()
    return _instances[name]


def reset_providers() -> None:
    """Forget provider instances (tests change settings between cases)."""
    _instances.clear()

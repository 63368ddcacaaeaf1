"""What a job delivered: its outputs copied into our storage and checked, and what a failure
while making them means.

Charges follow this, never what the upstream claims: an image counts when it decoded as an
image and was stored; a video counts for the seconds we measured in the file we stored.
"""

from __future__ import annotations

import logging
import tempfile
from decimal import Decimal

from studio.catalog.quote import NO_OPTIONS, ImageOptions
from studio.generations import media
from studio.generations.models import Job
from studio.providers.base import MediaOutput, Provider, ProviderError

log = logging.getLogger(__name__)


def store_outputs(
    job: Job, provider: Provider, outputs: list[MediaOutput], options: ImageOptions = NO_OPTIONS
) -> list:
    """Copy each of `outputs` into our storage and check it is what `job` makes (an image in
    the output format `options` asks for); return the media.StoredMedia. Raise ProviderError
    (it couldn't be fetched) or media.MediaError (it isn't a readable image or video of the
    right kind); then nothing is left stored."""
    stored: list[media.StoredMedia] = []
    try:
        for output in outputs:
            with tempfile.NamedTemporaryFile(dir=media.temp_dir(), prefix="out-") as tmp:
                provider.fetch(output, tmp)
                tmp.flush()
                stored.append(
                    media.store_output(
                        tmp.name,
                        expected=job.output_kind,
                        workspace_id=job.workspace_id,
                        options=options,
                    )
                )
    except BaseException:
        for item in stored:
            item.delete()
        raise
    return stored


def delivered_seconds(stored: list) -> Decimal:
    """The seconds of video delivered: measured in the stored files. A container's duration
    is off by a frame or so, so 4.96 s of a 5 s clip is 5 s delivered."""
    seconds = sum(item.duration or 0 for item in stored)
    nearest = round(seconds)
    if abs(seconds - nearest) <= 0.1:
        seconds = nearest
    return Decimal(str(round(seconds, 2)))


def failure_of(error: Exception, job: Job) -> tuple[str, dict]:
    """Return the (code, params) a job that failed with `error` stores."""
    if isinstance(error, ProviderError):
        params = {"detail": error.detail} if error.detail else {}
        if not error.permanent:
            params["retry"] = True
        return error.code, params
    if isinstance(error, media.MediaError):
        return error.code, {"expected": job.output_kind, **error.params}
    log.error("job %s crashed", job.public_id, exc_info=error)
    return "internal_error", {}

"""Images a person brings to a job: uploads, and gallery images picked as references."""

from __future__ import annotations

from collections.abc import Mapping

from studio.errors import StudioError
from studio.generations import media
from studio.generations.models import Asset, AssetKind

MAX_UPLOAD = 20 * 1024 * 1024
# More than any form sends; a longer list is not worth looking up.
MAX_IDS = 20


def store_upload(request, upload) -> Asset:
    """Check an uploaded file and keep it in the gallery as the caller's image.

    Raise StudioError with a message for a person (too large, not an image we can read).
    """
    if upload.size > MAX_UPLOAD:
        raise StudioError(
            f"{upload.name} is too large: images can be at most {MAX_UPLOAD // 2**20} MB.",
            param="image",
        )
    try:
        stored = media.store_image(upload, workspace_id=request.workspace.id)
    except media.MediaError:
        raise StudioError(
            f"{upload.name} isn't an image we can read: upload a PNG, JPEG or WebP file.",
            param="image",
        ) from None
    return media.make_asset(
        stored,
        workspace=request.workspace,
        user=request.user,
        made_by="upload",
        prompt=upload.name[:200],
    )


def store_uploads(request, uploads) -> list[Asset]:
    return [store_upload(request, upload) for upload in uploads]


def read_references(request, data: Mapping, *, strict: bool = False) -> list[Asset]:
    """The gallery images named by `reference` in `data`, in the order given.

    One that is not an image of this workspace (deleted since, or never ours) is dropped
    while the form is being filled in, and refused (StudioError) when it is submitted.
    """
    uids = list(dict.fromkeys(data.getlist("reference") if hasattr(data, "getlist") else []))
    uids = [uid for uid in uids if uid][:MAX_IDS]
    found = Asset.objects.visible_to(request.membership).filter(uid__in=uids, kind=AssetKind.IMAGE)
    by_uid = {a.uid: a for a in found}
    if strict and len(by_uid) < len(uids):
        raise StudioError(
            "A reference image is no longer in the gallery: remove it and pick another.",
            param="reference",
        )
    return [by_uid[uid] for uid in uids if uid in by_uid]

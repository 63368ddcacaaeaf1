from __future__ import annotations

import re

from django.conf import settings
from django.core.files.storage import default_storage, storages
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from studio.accounts.models import Membership
from studio.generations.models import Asset
from studio.lib import signing

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024
# How long a browser may reuse one of our media URLs (and the bucket redirect behind it).
BROWSER_CACHE = 3600
# A presigned bucket URL outlives the cached redirect to it by this much.
BUCKET_URL_SLACK = 600


def _chunks(f, start: int, length: int):
    try:
        f.seek(start)
        while length > 0:
            data = f.read(min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        f.close()


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Return (first, last) byte of a single `bytes=` range, or None if unsatisfiable.

    Raise ValueError when the header is not a single byte range (answer the whole file).
    """
    match = _RANGE.match(header.strip())
    if not match or (not match[1] and not match[2]):
        raise ValueError(header)
    if match[1]:
        first = int(match[1])
        last = min(int(match[2]), size - 1) if match[2] else size - 1
    else:  # a suffix: the last N bytes
        first, last = max(0, size - int(match[2])), size - 1
    if first >= size or first > last:
        return None
    return first, last


@require_safe
def serve_media(request, uid: str, variant: str, ext: str):
    """Serve an asset's file or thumbnail to holders of a valid signed URL, with Range."""
    scope = request.GET.get("to", "")
    if not signing.verify(uid, variant, request.GET.get("e"), request.GET.get("s"), scope=scope):
        raise Http404("This link has expired or is not valid.")
    asset = get_object_or_404(Asset, uid=uid)
    if not _may_have(request.user, asset, scope):
        raise Http404("This link has expired or is not valid.")
    response = asset_response(request, asset, variant)
    # The URL changes when it expires, so the bytes behind one URL never change. (A redirect
    # to the bucket sets its own, shorter promise.)
    response.setdefault("Cache-Control", f"private, max-age={BROWSER_CACHE}, immutable")
    return response


def _may_have(user, asset: Asset, scope: str) -> bool:
    """Whether the holder of a valid signed URL gets the asset's bytes, checked now.

    Signed in, the session decides: someone outside the asset's workspace gets nothing, and
    an asset that is private or in the trash goes only to its maker or an admin or owner of
    its workspace (staff, who see everything in the admin, get it too). Without a session
    (an API client, a browser's download manager) the URL is the permission, for an asset
    the team sees; a private one goes only to the provider, through a URL signed for it
    (media.public_url). So making an asset private or trashing it ends every URL handed out
    before, at once.
    """
    hidden = asset.private or asset.deleted_at is not None
    if not user.is_authenticated:
        return not hidden or (scope == signing.PROVIDER and asset.deleted_at is None)
    if user.is_staff:
        return True
    membership = Membership.objects.filter(user=user, workspace_id=asset.workspace_id).first()
    if membership is None:
        return False
    return not hidden or asset.user_id == user.id or membership.is_admin


def asset_response(request, asset: Asset, variant: str = "file", *, via_bucket: bool = True):
    """An asset's file (or its "thumb") for a caller who checked who may have it; the caller
    sets Cache-Control.

    With S3 storage and `via_bucket`, a redirect to a presigned URL of the file in the bucket
    (see _redirect_to_bucket). Otherwise the bytes, answering a single HTTP Range with 206
    (browsers need it to seek a video) and one it can't satisfy with 416. Raise Http404 when
    the file is missing."""
    if variant not in signing.VARIANTS:
        raise Http404("No such file.")
    name = asset.thumbnail.name if variant == "thumb" else asset.file.name
    if not name:
        raise Http404("No such file.")
    content_type = "image/jpeg" if variant == "thumb" else asset.content_type
    if settings.S3_BUCKET and via_bucket:
        return _redirect_to_bucket(name, content_type)
    try:
        size = default_storage.size(name)
        f = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("The file is missing from storage.") from None

    header = request.headers.get("Range")
    span = None
    if header:
        try:
            span = parse_range(header, size)
        except ValueError:
            header = None  # not a single byte range: send the whole file
        else:
            if span is None:
                f.close()
                response = HttpResponse(status=416)
                response["Content-Range"] = f"bytes */{size}"
                return response
    if header and span:
        first, last = span
        length = last - first + 1
        response = StreamingHttpResponse(
            _chunks(f, first, length), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(length)
    else:
        response = FileResponse(f, content_type=content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _redirect_to_bucket(name: str, content_type: str) -> HttpResponse:
    """Send the browser to a presigned URL of the file in the bucket, which answers Range
    requests and caching itself: media bytes never pass through a web process.

    The browser may reuse the redirect as long as our own response, and the presigned URL
    outlives that, so a cached redirect never leads to an expired URL.
    """
    url = storages["bucket_urls"].url(
        name,
        parameters={
            "ResponseContentType": content_type,
            "ResponseCacheControl": f"private, max-age={BROWSER_CACHE}, immutable",
        },
        expire=BROWSER_CACHE + BUCKET_URL_SLACK,
    )
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = f"private, max-age={BROWSER_CACHE}"
    return response

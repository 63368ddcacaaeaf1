"""Asset pages: one asset, its edit and animate pages, the gallery, uploads."""

from __future__ import annotations

import base64
import binascii
import io
import secrets

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio.accounts.decorators import workspace_required
from studio.accounts.models import Role
from studio.catalog.tables import EDITS
from studio.errors import StudioError
from studio.front.forms import ImageForm, VideoForm
from studio.front.views import _get_job_for_user, jobs_for_cards, refuse, render_card
from studio.generations import media, runner, tools
from studio.generations.models import Asset, JobKind

MAX_UPLOAD = 20 * 1024 * 1024
MASK_PREFIX = "data:image/png;base64,"


def _get_asset_for_user(request, uid: str, kind: str | None = None) -> Asset:
    """The asset with this uid in the caller's workspace; 404 for anyone else's."""
    assets = Asset.objects.for_workspace(request.workspace).select_related("user", "job")
    if kind:
        assets = assets.filter(kind=kind)
    return get_object_or_404(assets, uid=uid)


def _lineage(asset: Asset) -> list[Asset]:
    """The chain of parents, oldest first, ending with `asset`."""
    chain, seen = [asset], {asset.pk}
    while chain[0].parent_id and len(chain) < 20:
        parent = Asset.objects.filter(pk=chain[0].parent_id, deleted_at__isnull=True).first()
        if parent is None or parent.pk in seen:
            break
        chain.insert(0, parent)
        seen.add(parent.pk)
    return chain


@workspace_required
def asset_detail(request, uid: str):
    asset = _get_asset_for_user(request, uid)
    children = Asset.objects.for_workspace(request.workspace).filter(parent=asset)
    jobs = jobs_for_cards(request.workspace).filter(source_asset=asset)[:6]
    return render(
        request,
        "front/asset.html",
        {
            "asset": asset,
            "lineage": _lineage(asset),
            "children": children,
            "jobs": jobs,
            "can_create": request.membership.can_create,
        },
    )


@require_POST
@workspace_required(role=Role.MEMBER)
def share_asset(request, uid: str):
    """Start or stop sharing one asset by an unguessable link (read-only, no sign-in)."""
    asset = _get_asset_for_user(request, uid)
    if request.POST.get("stop"):
        Asset.objects.filter(pk=asset.pk).update(share_token="")
        messages.success(request, "The link no longer works. Nothing else changed.")
    elif not asset.share_token:
        token = secrets.token_urlsafe(24)
        Asset.objects.filter(pk=asset.pk, share_token="").update(share_token=token)
        messages.success(request, "Anyone with the link can see this, and only this.")
    return redirect(asset)


def shared(request, token: str):
    """One shared asset, read-only, for anyone holding its link."""
    # Tokens are 32 characters; a short one is a guess, not a link (and the empty token of
    # every unshared asset must never match).
    if len(token) < 32:
        raise Http404("This link was turned off or never existed.")
    asset = get_object_or_404(Asset, share_token=token, deleted_at__isnull=True)
    return render(request, "front/shared.html", {"asset": asset})


@require_POST
@workspace_required(role=Role.MEMBER)
def delete_asset(request, uid: str):
    asset = _get_asset_for_user(request, uid)
    if asset.user_id != request.user.id and not request.membership.is_admin:
        raise PermissionDenied("Only its maker or an admin can delete this.")
    Asset.objects.filter(pk=asset.pk).update(deleted_at=timezone.now(), share_token="")
    messages.success(request, "Deleted. Jobs and credits that made it stay in the usage report.")
    return redirect("gallery")


# ---- edit ---------------------------------------------------------------------------------


def _edit_context(request, asset, form, **extra):
    return {
        "asset": asset,
        "form": form,
        "crop_aspects": list(tools.CROP_ASPECTS),
        "can_create": request.membership.can_create,
        "jobs": jobs_for_cards(request.workspace).filter(source_asset=asset, kind=JobKind.EDIT)[:6],
        **extra,
    }


@workspace_required
def edit_page(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    form = ImageForm.read(request.GET, endpoint=EDITS, source=asset)
    return render(request, "front/edit.html", _edit_context(request, asset, form))


@require_GET
@workspace_required
def edit_options(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    form = ImageForm.read(request.GET, endpoint=EDITS, source=asset)
    return render(request, "front/edit.html#edit-options", {"asset": asset, "form": form})


def _store_mask(data_url: str, asset: Asset) -> str | None:
    """Save the mask painted in the browser (a PNG data URL); return its storage name."""
    if not data_url:
        return None
    if not data_url.startswith(MASK_PREFIX):
        raise StudioError("The mask must be a PNG image.", param="mask")
    try:
        raw = base64.b64decode(data_url[len(MASK_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise StudioError("The mask could not be read; paint it again.", param="mask") from None
    image, _ = media.probe_image(io.BytesIO(raw))
    if (image.width, image.height) != (asset.width, asset.height):
        image = image.resize((asset.width, asset.height))
    out = io.BytesIO()
    image.convert("RGBA").save(out, "PNG")
    out.seek(0)
    return default_storage.save(f"inputs/{asset.workspace_id}/{asset.uid}/mask.png", out)


@require_POST
@workspace_required(role=Role.MEMBER)
def edit_ai(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    form = ImageForm.read(request.POST, endpoint=EDITS, source=asset)
    try:
        if form.error:
            raise form.error
        mask = _store_mask(request.POST.get("mask", ""), asset)
        job = runner.submit(
            workspace=request.workspace,
            user=request.user,
            kind=JobKind.EDIT,
            request=form.request(),
            prompt=request.POST.get("prompt", ""),
            source_asset=asset,
            inputs={"mask": mask} if mask else None,
        )
    except (StudioError, media.MediaError) as e:
        error = e if isinstance(e, StudioError) else StudioError(f"The mask: {e}", param="mask")
        return refuse(request, error, "#edit-feedback", asset.get_edit_url())
    if request.htmx:
        return render_card(request, _get_job_for_user(request, job.public_id), balance=True)
    return redirect("edit", uid=uid)


@require_POST
@workspace_required(role=Role.MEMBER)
def edit_tool(request, uid: str):
    """A free local tool: makes a new asset and opens its edit page."""
    asset = _get_asset_for_user(request, uid, kind="image")
    tool = request.POST.get("tool", "")
    try:
        new = tools.apply(asset, tool, request.POST, request.user)
    except StudioError as e:
        return refuse(request, e, "#tool-feedback", asset.get_edit_url())
    messages.success(
        request,
        f"Made a new image with {tool}: {new.width}×{new.height}. The original is unchanged.",
    )
    if request.htmx:
        return HttpResponseClientRedirect(new.get_edit_url())
    return redirect("edit", uid=new.uid)


# ---- animate ------------------------------------------------------------------------------


@workspace_required
def animate_page(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    form = VideoForm.read(request.GET, source=asset)
    jobs = jobs_for_cards(request.workspace).filter(source_asset=asset, kind=JobKind.ANIMATE)
    return render(
        request,
        "front/animate.html",
        {
            "asset": asset,
            "form": form,
            "jobs": jobs[:6],
            "can_create": request.membership.can_create,
        },
    )


@require_GET
@workspace_required
def animate_options(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    return render(
        request,
        "front/animate.html#animate-options",
        {"asset": asset, "form": VideoForm.read(request.GET, source=asset)},
    )


@require_POST
@workspace_required(role=Role.MEMBER)
def animate(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    form = VideoForm.read(request.POST, source=asset)
    try:
        if form.error:
            raise form.error
        job = runner.submit(
            workspace=request.workspace,
            user=request.user,
            kind=JobKind.ANIMATE,
            request=form.request(),
            prompt=request.POST.get("prompt", ""),
            source_asset=asset,
        )
    except StudioError as e:
        return refuse(request, e, "#animate-feedback", asset.get_animate_url())
    if request.htmx:
        return render_card(request, _get_job_for_user(request, job.public_id), balance=True)
    return redirect("animate", uid=uid)


# ---- gallery and uploads -------------------------------------------------------------------

GALLERY_PAGE = 24


@workspace_required
def gallery(request):
    assets = Asset.objects.for_workspace(request.workspace).select_related("user")
    kind = request.GET.get("kind", "")
    if kind in ("image", "video"):
        assets = assets.filter(kind=kind)
    who = request.GET.get("who", "")
    if who == "me":
        assets = assets.filter(user=request.user)
    query = request.GET.get("q", "").strip()[:200]
    if query:
        assets = assets.filter(Q(prompt__icontains=query) | Q(model__icontains=query))
    page = Paginator(assets, GALLERY_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "kind": kind,
        "who": who,
        "query": query,
        "can_create": request.membership.can_create,
    }
    if request.htmx:
        return render(request, "front/gallery.html#gallery-grid", context)
    return render(request, "front/gallery.html", context)


@require_POST
@workspace_required(role=Role.MEMBER)
def upload(request):
    """Bring your own image into the gallery, to edit or animate it."""
    upload = request.FILES.get("image")
    if upload is None:
        messages.error(request, "Choose an image file to upload.")
        return redirect("gallery")
    if upload.size > MAX_UPLOAD:
        messages.error(request, f"Images can be at most {MAX_UPLOAD // (1024 * 1024)} MB.")
        return redirect("gallery")
    try:
        stored = media.store_image(upload, workspace_id=request.workspace.id)
    except media.MediaError as e:
        messages.error(request, f"That file can't be used: {e}.")
        return redirect("gallery")
    asset = media.make_asset(
        stored,
        workspace=request.workspace,
        user=request.user,
        made_by="upload",
        prompt=upload.name[:200],
    )
    messages.success(request, "Uploaded. Edit it or animate it from here.")
    return redirect("asset", uid=asset.uid)

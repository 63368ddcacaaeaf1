"""Asset pages: one asset, its edit and animate pages, uploads."""

from __future__ import annotations

import base64
import binascii
import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio.accounts.decorators import workspace_required
from studio.accounts.models import Role
from studio.accounts.permissions import may_change_asset
from studio.catalog.tables import EDITS
from studio.credits import ledger
from studio.errors import StudioError
from studio.front.board_picker import board_id_of, board_picker, picked_board, remember_board
from studio.front.boards import _get_board_for_user
from studio.front.forms import ImageForm, VideoForm
from studio.front.references import store_upload, store_uploads
from studio.front.views import _get_job_for_user, jobs_for_cards, refuse, render_card
from studio.gallery import lifecycle
from studio.gallery.models import Board, BoardAsset, Favourite, Share
from studio.generations import media, runner, tools
from studio.generations.models import Asset, AssetKind, JobKind

MASK_PREFIX = "data:image/png;base64,"
# An edit is compared with its original when both have the same shape (a crop or a turn is
# not: there is no pixel-for-pixel "before").
SAME_SHAPE = 0.01


def _get_asset_for_user(request, uid: str, kind: str | None = None) -> Asset:
    """The asset with this uid in the caller's gallery; 404 for anyone else's, for one in the
    trash, and for someone else's private one (unless the caller is an admin)."""
    assets = Asset.objects.visible_to(request.membership).select_related("user", "job")
    if kind:
        assets = assets.filter(kind=kind)
    return get_object_or_404(assets, uid=uid)


def _lineage(asset: Asset, visible) -> list[Asset]:
    """The chain of parents the caller may see (`visible`), oldest first, ending with
    `asset`."""
    chain, seen = [asset], {asset.pk}
    while chain[0].parent_id and len(chain) < 20:
        parent = visible.filter(pk=chain[0].parent_id).first()
        if parent is None or parent.pk in seen:
            break
        chain.insert(0, parent)
        seen.add(parent.pk)
    return chain


def _neighbours(asset: Asset, assets) -> tuple[Asset | None, Asset | None]:
    """The gallery's next newer and next older asset (the gallery's own order) among
    `assets`, those the caller may see."""
    same_time = Q(created_at=asset.created_at)
    newer = assets.filter(
        Q(created_at__gt=asset.created_at) | same_time & Q(id__gt=asset.id)
    ).order_by("created_at", "id")
    older = assets.filter(Q(created_at__lt=asset.created_at) | same_time & Q(id__lt=asset.id))
    return newer.first(), older.order_by("-created_at", "-id").first()


def _before(asset: Asset, lineage: list[Asset]) -> Asset | None:
    """The original an edit can be compared with, slider over slider: its parent, when it
    is an image of the same shape."""
    parent = lineage[-2] if len(lineage) > 1 else None
    if parent is None or asset.is_video or parent.is_video:
        return None
    if abs(parent.width * asset.height / (parent.height * asset.width) - 1) > SAME_SHAPE:
        return None
    return parent


@workspace_required
def asset_detail(request, uid: str):
    asset = _get_asset_for_user(request, uid)
    membership = request.membership
    visible = Asset.objects.visible_to(membership)
    lineage = _lineage(asset, visible)
    newer, older = _neighbours(asset, visible)
    boards = list(Board.objects.for_workspace(request.workspace))
    in_boards = set(BoardAsset.objects.filter(asset=asset).values_list("board_id", flat=True))
    asset.starred = Favourite.objects.filter(user=request.user, asset=asset).exists()
    return render(
        request,
        "front/asset.html",
        {
            "asset": asset,
            "lineage": lineage,
            "before": _before(asset, lineage),
            "children": visible.filter(parent=asset).order_by("created_at", "id"),
            "jobs": jobs_for_cards(membership).filter(source_asset=asset)[:6],
            "newer": newer,
            "older": older,
            "in_boards": [b for b in boards if b.pk in in_boards],
            "other_boards": [b for b in boards if b.pk not in in_boards],
            "share": Share.objects.live(timezone.now()).filter(asset=asset).first(),
            "can_create": membership.can_create,
            "may_change": may_change_asset(membership, asset),
            "restore_days": lifecycle.RESTORE_DAYS,
        },
    )


@require_POST
@workspace_required(role=Role.MEMBER)
def delete_asset(request, uid: str):
    """Move the asset to the trash (its maker or an admin), where it can be restored for
    RESTORE_DAYS; its share links stop at once."""
    asset = _get_asset_for_user(request, uid)
    if not may_change_asset(request.membership, asset):
        raise PermissionDenied("Only its maker or an admin can delete this.")
    lifecycle.trash([asset.pk], timezone.now())
    messages.success(
        request,
        f"Moved to the trash: restore it from there within {lifecycle.RESTORE_DAYS} days. "
        "The job and credits that made it stay in the usage report.",
    )
    return redirect("gallery")


@require_POST
@workspace_required(role=Role.MEMBER)
def set_private(request, uid: str):
    """`private=1`: only its maker and the admins see it (its share links stop); `private=0`:
    the whole team sees it again."""
    asset = _get_asset_for_user(request, uid)
    if not may_change_asset(request.membership, asset):
        raise PermissionDenied("Only its maker or an admin can change who sees this.")
    private = request.POST.get("private") == "1"
    lifecycle.set_private(asset, private, timezone.now())
    if private:
        messages.success(request, "Private: only you and the workspace's admins see it now.")
    else:
        messages.success(request, "The whole team sees it again.")
    return redirect(asset)


@require_POST
@workspace_required(role=Role.MEMBER)
def asset_boards(request, uid: str):
    """Add the asset to `board`, or with `remove`, take it out of that board."""
    asset = _get_asset_for_user(request, uid)
    board_id = board_id_of(request.POST.get("board"))
    if board_id is None:
        messages.error(request, "Pick a board.")
        return redirect(asset)
    board = _get_board_for_user(request, board_id)
    if request.POST.get("remove"):
        BoardAsset.objects.filter(board=board, asset=asset).delete()
        messages.success(request, f"Took it out of “{board.name}”.")
    else:
        Board.add(board.pk, [asset.pk], request.user.id, timezone.now())
        messages.success(request, f"Added to “{board.name}”.")
    return redirect(asset)


# ---- edit ---------------------------------------------------------------------------------


# What the option fragments of the edit and animate forms need to know about their page.
EDIT_FORM = {
    "options_id": "edit-options",
    "verdict_id": "edit-verdict",
    "feedback_id": "edit-feedback",
    "submit_label": "Edit with AI",
}
ANIMATE_FORM = {
    "options_id": "animate-options",
    "verdict_id": "animate-verdict",
    "feedback_id": "animate-feedback",
    "submit_label": "Animate",
}


def _edit_form(request, asset, data, strict: bool = False) -> ImageForm:
    balance = ledger.balance(request.workspace)
    return ImageForm.read(data, endpoint=EDITS, source=asset, strict=strict, balance=balance)


@workspace_required
def edit_page(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    context = {
        "asset": asset,
        "form": _edit_form(request, asset, request.GET),
        **EDIT_FORM,
        "options_url": reverse("edit_options", args=[asset.uid]),
        "crop_aspects": list(tools.CROP_ASPECTS),
        "can_create": request.membership.can_create,
        "jobs": jobs_for_cards(request.membership).filter(source_asset=asset, kind=JobKind.EDIT)[
            :6
        ],
        **board_picker(request, request.GET),
    }
    return render(request, "front/edit.html", context)


@require_GET
@workspace_required
def edit_options(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    context = {
        "form": _edit_form(request, asset, request.GET),
        **EDIT_FORM,
        "options_url": reverse("edit_options", args=[asset.uid]),
    }
    return render(request, "front/_image_options.html", context)


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
    form = _edit_form(request, asset, request.POST, strict=True)
    try:
        if form.error:
            raise form.error
        board = picked_board(request, request.POST, strict=True)
        mask = _store_mask(request.POST.get("mask", ""), asset)
        job = runner.submit(
            workspace=request.workspace,
            user=request.user,
            kind=JobKind.EDIT,
            request=form.request(),
            prompt=request.POST.get("prompt", ""),
            source_asset=asset,
            inputs={"mask": mask} if mask else None,
            board_id=board.pk if board else None,
        )
    except media.MediaError:
        error = StudioError("The mask could not be read; paint it again.", param="mask")
        return refuse(request, error, "#edit-feedback", asset.get_edit_url())
    except StudioError as e:
        return refuse(request, e, "#edit-feedback", asset.get_edit_url())
    remember_board(request, board)
    if request.htmx:
        return render_card(request, _get_job_for_user(request, job.public_id))
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
    if board := picked_board(request, request.POST):
        Board.add(board.pk, [new.pk], request.user.id, timezone.now())
    messages.success(
        request,
        f"Made a new image with {tool}: {new.width}×{new.height}. The original is unchanged.",
    )
    if request.htmx:
        return HttpResponseClientRedirect(new.get_edit_url())
    return redirect("edit", uid=new.uid)


# ---- animate ------------------------------------------------------------------------------


def _animate_form(request, asset, data, strict: bool = False) -> VideoForm:
    balance = ledger.balance(request.workspace)
    return VideoForm.read(data, source=asset, strict=strict, balance=balance)


@workspace_required
def animate_page(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    jobs = jobs_for_cards(request.membership).filter(source_asset=asset, kind=JobKind.ANIMATE)
    return render(
        request,
        "front/animate.html",
        {
            "asset": asset,
            "form": _animate_form(request, asset, request.GET),
            **ANIMATE_FORM,
            "options_url": reverse("animate_options", args=[asset.uid]),
            "jobs": jobs[:6],
            "can_create": request.membership.can_create,
            **board_picker(request, request.GET),
        },
    )


@require_GET
@workspace_required
def animate_options(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    context = {
        "form": _animate_form(request, asset, request.GET),
        **ANIMATE_FORM,
        "options_url": reverse("animate_options", args=[asset.uid]),
    }
    return render(request, "front/_video_options.html", context)


@require_POST
@workspace_required(role=Role.MEMBER)
def animate(request, uid: str):
    asset = _get_asset_for_user(request, uid, kind="image")
    form = _animate_form(request, asset, request.POST, strict=True)
    try:
        if form.error:
            raise form.error
        board = picked_board(request, request.POST, strict=True)
        job = runner.submit(
            workspace=request.workspace,
            user=request.user,
            kind=JobKind.ANIMATE,
            request=form.request(),
            prompt=request.POST.get("prompt", ""),
            source_asset=asset,
            board_id=board.pk if board else None,
        )
    except StudioError as e:
        return refuse(request, e, "#animate-feedback", asset.get_animate_url())
    remember_board(request, board)
    if request.htmx:
        return render_card(request, _get_job_for_user(request, job.public_id))
    return redirect("animate", uid=uid)


# ---- uploads -------------------------------------------------------------------------------


@require_POST
@workspace_required(role=Role.MEMBER)
def upload(request):
    """Bring your own image into the gallery, to edit or animate it."""
    upload = request.FILES.get("image")
    if upload is None:
        messages.error(request, "Choose an image file to upload.")
        return redirect("gallery")
    try:
        asset = store_upload(request, upload)
    except StudioError as e:
        messages.error(request, e.message)
        return redirect("gallery")
    if board := picked_board(request, request.POST):  # uploaded on a board's page
        Board.add(board.pk, [asset.pk], request.user.id, timezone.now())
    messages.success(request, "Uploaded. Edit it or animate it from here.")
    return redirect("asset", uid=asset.uid)


# ---- reference images for the studio's composer --------------------------------------------

PICKER_PAGE = 24


@require_POST
@workspace_required(role=Role.MEMBER)
def reference_upload(request):
    """Upload images as references: they join the gallery and the composer's tray."""
    try:
        assets = store_uploads(request, request.FILES.getlist("reference_file"))
    except StudioError as e:
        return refuse(request, e, "#ref-feedback", "studio")
    return render(request, "front/_reference_chips.html", {"references": assets})


@require_GET
@workspace_required
def reference_picker(request):
    """The gallery's images to pick references from, newest first."""
    images = Asset.objects.visible_to(request.membership).filter(kind=AssetKind.IMAGE)
    page = Paginator(images, PICKER_PAGE).get_page(request.GET.get("page"))
    return render(request, "front/_reference_picker.html", {"page": page})

"""The team gallery: filters in the URL, endless keyset pages, favourites, bulk actions
(ZIP, add to a board, trash), the trash, and a board's own gallery."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from studio.accounts.decorators import workspace_required
from studio.accounts.models import Membership, Role
from studio.accounts.permissions import may_change_asset
from studio.catalog.tables import MODELS
from studio.front.board_picker import board_id_of
from studio.front.boards import _get_board_for_user
from studio.front.views import next_url
from studio.gallery import lifecycle, zips
from studio.gallery.filters import Filters, cursor_of, page_of, read_cursor, starting_after
from studio.gallery.models import Board, Favourite, Share
from studio.generations.models import Asset

# The most assets one bulk action takes (a form of more fields than Django's limit of 1,000
# is refused before it reaches us).
MAX_BULK = 900
BULK_ACTIONS = ("zip", "board", "trash")


@workspace_required
def gallery(request):
    return _browse(request)


@workspace_required
def board_gallery(request, board_id: int):
    """A board's own gallery: the same grid and filters, always within the board."""
    return _browse(request, _get_board_for_user(request, board_id))


def _browse(request, board: Board | None = None):
    membership = request.membership
    boards = list(Board.objects.for_workspace(request.workspace))
    members = [
        m.user
        for m in Membership.objects.filter(workspace=request.workspace)
        .select_related("user")
        .order_by("user__username")
    ]
    filters = Filters.read(request.GET, boards=boards, members=members, fixed_board=board)
    assets = Asset.objects.visible_to(membership).select_related("user")
    tiles, more = page_of(filters.apply(assets, request.user))
    here = board.get_absolute_url() if board else reverse("gallery")
    context = {
        "filters": filters,
        "tiles": tiles,
        "more_url": f"{here}?{filters.query(after=cursor_of(tiles[-1]))}" if more else "",
        "here": here,
        "board": board,
        "can_create": membership.can_create,
    }
    if request.htmx and filters.after:
        return render(request, "front/gallery.html#tiles", context)
    if request.htmx:
        return render(request, "front/gallery.html#gallery-grid", context)
    context.update(
        boards=boards,
        members=members,
        models=MODELS.values(),
        trash_count=Asset.objects.in_trash_of(membership).count(),
        share=_live_share(board) if board else None,
    )
    return render(request, "front/gallery.html", context)


def _live_share(board: Board) -> Share | None:
    return Share.objects.live(timezone.now()).filter(board=board).first()


# ---- favourites ------------------------------------------------------------------------------


@require_POST
@workspace_required
def favourite(request, uid: str):
    """Star the asset for the caller, or take their star off. Viewers may too."""
    asset = get_object_or_404(Asset.objects.visible_to(request.membership), uid=uid)
    asset.starred = Favourite.toggle(request.user, asset, timezone.now())
    back = next_url(request, asset.get_absolute_url())
    if request.htmx:
        labelled = request.POST.get("labelled") == "1"
        context = {"asset": asset, "labelled": labelled, "next": back}
        return render(request, "front/_star.html", context)
    return redirect(back)


# ---- bulk actions ------------------------------------------------------------------------------


@require_POST
@workspace_required
def bulk(request):
    """Act on the assets named by `uid` (repeated): `action` = zip (answers the ZIP; viewers
    may), board (files them into `board`) or trash (each one its maker's or an admin's)."""
    back = next_url(request, reverse("gallery"))
    action = request.POST.get("action", "")
    uids = list(dict.fromkeys(u for u in request.POST.getlist("uid") if u))
    if action not in BULK_ACTIONS:
        messages.error(request, "Pick what to do with them: download, add to a board or trash.")
        return redirect(back)
    if not uids:
        messages.error(request, "Select at least one image or video first.")
        return redirect(back)
    if len(uids) > MAX_BULK:
        messages.error(request, f"Select at most {MAX_BULK} at a time.")
        return redirect(back)
    assets = list(
        Asset.objects.visible_to(request.membership)
        .filter(uid__in=uids)
        .order_by("-created_at", "-id")
    )
    if not assets:
        raise Http404("None of those are in this gallery.")
    if action == "zip":
        return _zip(assets)
    if not request.membership.can_create:
        raise PermissionDenied("Changing boards or the trash needs the member role.")
    missing = len(uids) - len(assets)
    if missing:
        messages.warning(request, f"{missing} of them are no longer in the gallery.")
    if action == "board":
        return _bulk_board(request, assets, back)
    return _bulk_trash(request, assets, back)


def _zip(assets: list[Asset]):
    response = StreamingHttpResponse(zips.stream(assets), content_type="application/zip")
    day = timezone.localdate().isoformat()
    name = f"pixapi-studio-{day}-{len(assets)}-files.zip"
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "no-store"
    return response


def _bulk_board(request, assets: list[Asset], back: str):
    if not request.POST.get("board"):
        messages.error(request, "Pick the board to add them to.")
        return redirect(back)
    board = _get_board_for_user(request, board_id_of(request.POST["board"]) or 0)
    Board.add(board.pk, [a.pk for a in assets], request.user.id, timezone.now())
    messages.success(request, f"Added {len(assets)} to “{board.name}”.")
    return redirect(back)


def _bulk_trash(request, assets: list[Asset], back: str):
    mine = [a for a in assets if may_change_asset(request.membership, a)]
    moved = lifecycle.trash([a.pk for a in mine], timezone.now()) if mine else 0
    if moved:
        messages.success(
            request,
            f"Moved {moved} to the trash. Restore them from the trash within "
            f"{lifecycle.RESTORE_DAYS} days.",
        )
    if len(mine) < len(assets):
        messages.warning(
            request,
            f"Left {len(assets) - len(mine)} alone: only their maker or an admin can trash them.",
        )
    return redirect(back)


# ---- the trash --------------------------------------------------------------------------------


@require_GET
@workspace_required
def trash(request):
    """What the caller deleted or made (everything, for an admin), newest deletion first,
    with how long each can still be restored."""
    after = read_cursor(request.GET.get("after", ""))
    assets = Asset.objects.in_trash_of(request.membership).select_related("user")
    if after:
        assets = starting_after(assets, after, "deleted_at")
    tiles, more = page_of(assets.order_by("-deleted_at", "-id"))
    for asset in tiles:
        asset.restorable_until = lifecycle.restorable_until(asset)
        asset.may_restore = may_change_asset(request.membership, asset)
    context = {
        "tiles": tiles,
        "more_url": f"{reverse('trash')}?after={cursor_of(tiles[-1], 'deleted_at')}"
        if more
        else "",
        "restore_days": lifecycle.RESTORE_DAYS,
    }
    if request.htmx and after:
        return render(request, "front/trash.html#trash-tiles", context)
    return render(request, "front/trash.html", context)


@require_POST
@workspace_required(role=Role.MEMBER)
def restore(request, uid: str):
    asset = get_object_or_404(Asset.objects.in_trash_of(request.membership), uid=uid)
    if not may_change_asset(request.membership, asset):
        raise PermissionDenied("Only its maker or an admin can restore this.")
    if lifecycle.restore(asset, timezone.now()):
        messages.success(request, "Restored: it's back in the gallery (its share links stay off).")
        return redirect(asset)
    messages.error(request, "It has been in the trash too long to restore.")
    return redirect("trash")

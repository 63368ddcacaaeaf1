"""Share links: one asset or one board, read-only, for anyone holding the link.

One mechanism for both (gallery.Share): an unguessable token, an expiry picked when it is
made (a day, a week, a month, never), stopped at once by "Stop sharing". The shared page's
media come through URLs under the same token, checked against the live share on every
request — so stopping it, its expiry, or the asset going to the trash or turning private
ends the page and every file it showed at once (404). No signed /media/ URL, which would
outlive the share, is ever put in a shared page.

Who may share: an asset, its maker or an admin or owner; a board, members and up.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from studio.accounts.decorators import workspace_required
from studio.accounts.models import Role
from studio.accounts.permissions import may_change_asset
from studio.front.assets import _get_asset_for_user
from studio.front.boards import _get_board_for_user
from studio.gallery.filters import cursor_of, page_of, read_cursor, starting_after
from studio.gallery.models import DEFAULT_EXPIRY, SHARE_EXPIRY, Share
from studio.generations.models import Asset
from studio.generations.views import asset_response

GONE = "This link was turned off, has expired, or never existed."


def _start_or_stop(request, started: str, **target):
    """Stop the share links of `target` (asset= or board=) when the form says `stop`, else
    share it for the form's `expires` (day, week, month, never; a week when not given)."""
    (thing,) = target.values()
    now = timezone.now()
    if request.POST.get("stop"):
        Share.objects.filter(**target).stop(now)
        messages.success(request, "The link and its files no longer work. Nothing else changed.")
        return redirect(thing)
    expiry = request.POST.get("expires", "") or DEFAULT_EXPIRY
    if expiry not in SHARE_EXPIRY:
        messages.error(request, "Pick how long the link works: a day, a week, a month or always.")
    else:
        Share.start(user=request.user, now=now, expiry=expiry, **target)
        messages.success(request, started)
    return redirect(thing)


@require_POST
@workspace_required(role=Role.MEMBER)
def share_asset(request, uid: str):
    """Start sharing one asset, or stop (its maker or an admin). A private one can't be."""
    asset = _get_asset_for_user(request, uid)
    if not may_change_asset(request.membership, asset):
        raise PermissionDenied("Only its maker or an admin can share this.")
    if asset.private and not request.POST.get("stop"):
        messages.error(request, "A private asset can't be shared: show it to the team first.")
        return redirect(asset)
    return _start_or_stop(request, "Anyone with the link can see this, and only this.", asset=asset)


@require_POST
@workspace_required(role=Role.MEMBER)
def share_board(request, board_id: int):
    """Start sharing a board, or stop. The link shows what the board holds when it is
    opened, except private and trashed assets."""
    board = _get_board_for_user(request, board_id)
    return _start_or_stop(
        request, "Anyone with the link can see this board, read-only.", board=board
    )


# ---- what the holder of a link sees ---------------------------------------------------------


def _open(token: str) -> Share:
    share = Share.objects.open(token, timezone.now())
    if share is None:
        raise Http404(GONE)
    return share


def _shown_on_board(share: Share):
    """The assets a board link shows: in the board, in the gallery, not private."""
    return Asset.objects.filter(
        workspace_id=share.workspace_id,
        deleted_at__isnull=True,
        private=False,
        board_items__board_id=share.board_id,
    )


@require_safe
def shared(request, token: str):
    """A shared asset or board, read-only, for anyone holding its link."""
    share = _open(token)
    if share.asset_id:
        return render(request, "front/shared.html", {"share": share, "asset": share.asset})
    assets = _shown_on_board(share).order_by("-created_at", "-id")
    if after := read_cursor(request.GET.get("after", "")):
        assets = starting_after(assets, after)
    tiles, more = page_of(assets)
    context = {
        "share": share,
        "board": share.board,
        "tiles": tiles,
        "more_url": f"{request.path}?after={cursor_of(tiles[-1])}" if more else "",
    }
    if request.htmx and after:
        return render(request, "front/shared_board.html#shared-tiles", context)
    return render(request, "front/shared_board.html", context)


@require_safe
def shared_media(request, token: str, uid: str, variant: str, ext: str):
    """A file (or thumbnail) of a shared page, while the share lives and shows it."""
    share = _open(token)
    if share.asset_id:
        asset = share.asset if share.asset.uid == uid else None
    else:
        asset = _shown_on_board(share).filter(uid=uid).first()
    if asset is None:
        raise Http404(GONE)
    # Asked for again every time, and never sent on to a presigned bucket URL, which would
    # outlive the share: a stopped share must not live on anywhere.
    response = asset_response(request, asset, variant, via_bucket=False)
    response["Cache-Control"] = "no-store"
    return response

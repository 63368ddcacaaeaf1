"""Boards: named collections the whole workspace sees; members and up make and change them.
(The board picker of the create forms is board_picker.py.)"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from studio.accounts.decorators import workspace_required
from studio.accounts.models import Role
from studio.errors import StudioError, invalid
from studio.front.views import next_url
from studio.gallery.models import BOARD_NAME_MAX, Board, BoardAsset
from studio.generations.models import Asset


def _get_board_for_user(request, board_id) -> Board:
    """The board with this id in the caller's workspace; 404 for anyone else's."""
    return get_object_or_404(Board.objects.for_workspace(request.workspace), pk=board_id)


def _read_name(request) -> str:
    name = " ".join(request.POST.get("name", "").split())
    if not name:
        raise invalid("Give the board a name.", "name")
    if len(name) > BOARD_NAME_MAX:
        raise invalid(f"A board's name can be at most {BOARD_NAME_MAX} characters.", "name")
    return name


def _write_name(request, write) -> bool:
    """Check the form's `name` and `write(name)` in a transaction; when it can't be, say why
    (no name, too long, taken) and return False."""
    try:
        name = _read_name(request)
        with transaction.atomic():
            write(name)
    except StudioError as e:
        messages.error(request, e.message)
    except IntegrityError:
        messages.error(request, f"There is already a board called “{name}”: pick another name.")
    else:
        return True
    return False


@workspace_required
def boards(request):
    """GET: every board of the workspace, with how many assets it shows you and a cover.
    POST (members and up): make a board called `name` and go to its page."""
    if request.method == "POST":
        return _create(request)
    membership = request.membership
    shown = Q(items__asset__deleted_at__isnull=True)
    cover = BoardAsset.objects.filter(board=OuterRef("pk"), asset__deleted_at__isnull=True)
    if not membership.is_admin:
        shown &= Q(items__asset__private=False) | Q(items__asset__user=request.user)
        cover = cover.filter(Q(asset__private=False) | Q(asset__user=request.user))
    cover = cover.order_by("-asset__created_at", "-asset_id").values("asset__uid")[:1]
    listed = list(
        Board.objects.for_workspace(request.workspace).annotate(
            count=Count("items", filter=shown), cover_uid=Subquery(cover)
        )
    )
    for board in listed:
        # Only the uid is needed to sign a thumbnail's URL.
        board.cover = Asset(uid=board.cover_uid) if board.cover_uid else None
    return render(
        request,
        "front/boards.html",
        {"boards": listed, "can_create": membership.can_create, "name_max": BOARD_NAME_MAX},
    )


def _create(request):
    if not request.membership.can_create:
        raise PermissionDenied("Making boards needs the member role.")
    made = []

    def create(name: str) -> None:
        made.append(
            Board.objects.create(workspace=request.workspace, name=name, created_by=request.user)
        )

    if not _write_name(request, create):
        return redirect("boards")
    messages.success(request, f"Made the board “{made[0].name}”. Add to it from the gallery.")
    return redirect(made[0])


@require_POST
@workspace_required(role=Role.MEMBER)
def rename_board(request, board_id: int):
    board = _get_board_for_user(request, board_id)
    if _write_name(request, lambda name: Board.objects.filter(pk=board.pk).update(name=name)):
        messages.success(request, "Renamed.")
    return redirect(board)


@require_POST
@workspace_required(role=Role.MEMBER)
def delete_board(request, board_id: int):
    board = _get_board_for_user(request, board_id)
    board.delete()  # its entries and share links go with it; the assets stay
    messages.success(request, f"Deleted the board “{board.name}”. Its assets are still here.")
    return redirect("boards")


@require_POST
@workspace_required(role=Role.MEMBER)
def remove_from_board(request, board_id: int):
    """Take the assets named by `uid` (repeated) out of the board; they stay in the gallery."""
    board = _get_board_for_user(request, board_id)
    visible = Asset.objects.visible_to(request.membership).filter(
        uid__in=request.POST.getlist("uid")
    )
    if not visible.exists():
        raise Http404("None of those are in this gallery.")
    removed, _ = BoardAsset.objects.filter(board=board, asset__in=visible).delete()
    messages.success(
        request, f"Took {removed} out of “{board.name}”. They're still in the gallery."
    )
    return redirect(next_url(request, board.get_absolute_url()))

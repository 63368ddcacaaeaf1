"""The board picker of the create forms (studio, edit, animate).

The board a person picks is where the job's outputs file themselves when it completes
(Job.board); the studio remembers it for their next job in this workspace.
"""

from __future__ import annotations

from studio.errors import invalid
from studio.gallery.models import Board

# Session key: {workspace id: the board last picked in a create form}.
PICKED = "picked_boards"


def board_id_of(raw) -> int | None:
    """A board id from a form or URL parameter, or None when it isn't a number."""
    raw = str(raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def picked_board(request, data, *, strict: bool = False) -> Board | None:
    """The board named by `board` in `data`, or None for "no board". One that is not (or no
    longer) a board of this workspace is refused when `strict` (a submission), else None."""
    if not data.get("board", ""):
        return None
    board = (
        Board.objects.for_workspace(request.workspace)
        .filter(pk=board_id_of(data.get("board")))
        .first()
    )
    if board is None and strict:
        raise invalid("That board is gone: pick another board, or none.", "board")
    return board


def remember_board(request, board: Board | None) -> None:
    picked = dict(request.session.get(PICKED, {}))
    picked[str(request.workspace.id)] = board.pk if board else None
    request.session[PICKED] = picked


def board_picker(request, data=None) -> dict:
    """What a create form's board picker shows: the workspace's boards, and the one picked —
    `board` in `data` (a link such as "Generate into this board"), else the last one this
    person picked here."""
    boards = list(Board.objects.for_workspace(request.workspace))
    wanted = board_id_of((data or {}).get("board"))
    if wanted is None:
        wanted = request.session.get(PICKED, {}).get(str(request.workspace.id))
    return {"boards": boards, "picked_board": next((b for b in boards if b.pk == wanted), None)}

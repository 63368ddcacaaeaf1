"""The gallery's filters, read from the URL so a view can be bookmarked or sent to a
teammate, and its keyset pages.

Parameters (others script against them): q (words in the prompt), kind (image | video),
model (a model id), member (a username in the workspace), board (a board id), fav (1: my
favourites), from and to (YYYY-MM-DD, inclusive), sort (new | old), tab (mine | team), and
after (where the previous page ended). A bad value is ignored and noted, never an error.

Pages are keyset pages: "the next 24 after (created_at, id)", never OFFSET, so the 400th
page costs what the first does and a page never repeats or skips an asset that arrived
meanwhile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from studio.catalog import tables
from studio.gallery.models import BoardAsset, Favourite
from studio.generations.models import AssetKind

PAGE = 24
QUERY_MAX = 200
# The parameters that choose what the grid shows, in the order links write them.
PARAMS = ("q", "kind", "model", "member", "board", "fav", "from", "to", "sort", "tab")
SORTS = ("new", "old")
TABS = ("team", "mine")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURSOR = re.compile(r"^(\d{1,19})-(\d{1,19})$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cursor_of(asset, field: str = "created_at") -> str:
    """Where a page that ends with `asset` ends: its `field` time (µs) and id."""
    return f"{(getattr(asset, field) - EPOCH) // timedelta(microseconds=1)}-{asset.pk}"


def read_cursor(raw: str) -> tuple[datetime, int] | None:
    """The (time, id) written by cursor_of, or None for anything else."""
    match = _CURSOR.match(raw)
    if not match:
        return None
    try:
        return EPOCH + timedelta(microseconds=int(match[1])), int(match[2])
    except OverflowError:
        return None


def _read_day(raw: str) -> date | None:
    if not _DAY.match(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


@dataclass
class Ignored:
    """A parameter whose value was ignored, for the note that says why (in the template):
    not a value it takes, or (`before_from`) a `to` before `from`."""

    param: str
    value: str
    why: str = ""


@dataclass
class Filters:
    q: str = ""
    kind: str = ""
    model: str = ""
    member: object = None  # the User chosen by `member`
    board: object = None  # the Board chosen by `board`
    fav: bool = False
    day_from: date | None = None
    day_to: date | None = None
    sort: str = "new"
    tab: str = "team"
    after: tuple[datetime, int] | None = None
    ignored: list[Ignored] = field(default_factory=list)
    # A board page's own board: always applied, never written into its links.
    fixed_board: object = None

    @classmethod
    def read(cls, data, *, boards, members, fixed_board=None) -> Filters:
        """Read the GET parameters in `data`. `boards` and `members` (Users) are the
        workspace's, already fetched for the page's menus: names are checked against them,
        with no query of their own."""
        f = cls(fixed_board=fixed_board)

        def get(name: str) -> str:
            return str(data.get(name, "")).strip()

        def ignore(name: str, value: str, why: str = "") -> None:
            f.ignored.append(Ignored(name, value[:60], why))

        f.q = " ".join(get("q").split())[:QUERY_MAX]
        if (kind := get("kind")) in AssetKind.values:
            f.kind = kind
        elif kind:
            ignore("kind", kind)
        if model := get("model"):
            found = tables.get_model(model)
            if found:
                f.model = found.id  # an alias means its canonical model
            else:
                ignore("model", model)
        if member := get("member"):
            f.member = next((u for u in members if u.username == member), None)
            if f.member is None:
                ignore("member", member)
        if (board := get("board")) and fixed_board is None:
            f.board = next((b for b in boards if str(b.pk) == board), None)
            if f.board is None:
                ignore("board", board)
        if (fav := get("fav")) == "1":
            f.fav = True
        elif fav:
            ignore("fav", fav)
        for name in ("from", "to"):
            if raw := get(name):
                day = _read_day(raw)
                if day is None:
                    ignore(name, raw)
                setattr(f, f"day_{name}", day)
        if f.day_from and f.day_to and f.day_to < f.day_from:
            ignore("to", get("to"), "before_from")
            f.day_to = None
        for name, allowed in (("sort", SORTS), ("tab", TABS)):
            if (value := get(name)) in allowed:
                setattr(f, name, value)
            elif value:
                ignore(name, value)
        if raw := get("after"):
            f.after = read_cursor(raw)
            if f.after is None:
                ignore("after", raw)
        return f

    @property
    def narrowed(self) -> bool:
        """Whether anything but the order is chosen (for "nothing matches" and "clear")."""
        return bool(
            self.q
            or self.kind
            or self.model
            or self.member
            or self.board
            or self.fav
            or self.day_from
            or self.day_to
            or self.tab == "mine"
        )

    def apply(self, assets: QuerySet, user) -> QuerySet:
        """Narrow `assets` (already what the caller may see) to the filters, in the chosen
        order, starting after the cursor; each asset knows whether `user` starred it."""
        for word in self.q.split():
            assets = assets.filter(prompt__icontains=word)
        if self.kind:
            assets = assets.filter(kind=self.kind)
        if self.model:
            assets = assets.filter(model=self.model)
        if self.member:
            assets = assets.filter(user=self.member)
        if self.tab == "mine":
            assets = assets.filter(user=user)
        for board in (self.board, self.fixed_board):
            if board is not None:
                assets = assets.filter(
                    Exists(BoardAsset.objects.filter(board=board, asset=OuterRef("pk")))
                )
        starred = Favourite.objects.filter(user=user, asset=OuterRef("pk"))
        if self.fav:
            assets = assets.filter(Exists(starred))
        if self.day_from:
            assets = assets.filter(created_at__gte=_start_of(self.day_from))
        if self.day_to:
            assets = assets.filter(created_at__lt=_start_of(self.day_to + timedelta(days=1)))
        if self.after:
            assets = starting_after(assets, self.after, newest_first=self.sort == "new")
        order = ("created_at", "id") if self.sort == "old" else ("-created_at", "-id")
        return assets.annotate(starred=Exists(starred)).order_by(*order)

    def params(self, **changes) -> dict[str, str]:
        """The URL parameters of this view (without the cursor), with `changes`."""
        values = {
            "q": self.q,
            "kind": self.kind,
            "model": self.model,
            "member": self.member.username if self.member else "",
            "board": str(self.board.pk) if self.board else "",
            "fav": "1" if self.fav else "",
            "from": self.day_from.isoformat() if self.day_from else "",
            "to": self.day_to.isoformat() if self.day_to else "",
            "sort": "" if self.sort == "new" else self.sort,
            "tab": "" if self.tab == "team" else self.tab,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}

    def query(self, **changes) -> str:
        """The query string of this view (no cursor), e.g. "kind=video&fav=1"."""
        return urlencode(self.params(**changes))


def starting_after(
    assets: QuerySet, after: tuple[datetime, int], field: str = "created_at", newest_first=True
) -> QuerySet:
    """The assets after the cursor `after` in the order (`field`, id), newest or oldest
    first: the keyset condition, which an index on the time answers without counting."""
    at, pk = after
    op = "lt" if newest_first else "gt"
    return assets.filter(Q(**{f"{field}__{op}": at}) | Q(**{field: at, f"id__{op}": pk}))


def page_of(assets: QuerySet, size: int = PAGE) -> tuple[list, bool]:
    """One keyset page: the first `size` assets, and whether more follow. One query (it asks
    for one more to know)."""
    rows = list(assets[: size + 1])
    return rows[:size], len(rows) > size

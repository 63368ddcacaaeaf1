"""Moving credits: grant, reserve, capture, release, expire, adjust.

Each function is one transaction. Concurrency: on PostgreSQL the workspace row is locked
(SELECT … FOR UPDATE) before grants are read, so two submits of one workspace serialise; on
SQLite every write transaction starts with BEGIN IMMEDIATE (settings), which serialises them
the same way. Either way, two concurrent submits can't both spend the last credits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from studio.accounts.models import Membership, Workspace
from studio.catalog.quote import Quote, money
from studio.credits.models import (
    VALIDITY_DAYS,
    EntryKind,
    Grant,
    LedgerEntry,
    Pack,
    RedemptionCode,
    Reservation,
    Settlement,
)
from studio.errors import ErrorType, StudioError

ZERO = Decimal("0.00")


class InsufficientCredits(StudioError):
    """A reservation the balance, a monthly limit or a key's cap can't cover (HTTP 402)."""

    def __init__(self, message: str):
        super().__init__(message, code=ErrorType.INSUFFICIENT_CREDITS)


def _sum(queryset, field: str) -> Decimal:
    return money(queryset.aggregate(total=Sum(field))["total"] or 0)


def month_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


# ---- reading ---------------------------------------------------------------------------------


def balance(workspace: Workspace, now: datetime | None = None) -> Decimal:
    """Return the credits `workspace` can spend now: what is left of its unexpired grants."""
    now = now or timezone.now()
    return _sum(Grant.objects.filter(workspace=workspace, expires_at__gt=now), "remaining")


def held(workspace: Workspace) -> Decimal:
    """Return the credits reserved by jobs that have not ended yet."""
    open_ = Reservation.objects.filter(workspace=workspace, settlement__isnull=True)
    return _sum(open_, "amount")


def spent_this_month(workspace: Workspace, user, now: datetime | None = None) -> Decimal:
    """Return what `user` reserved in `workspace` this calendar month, minus what came back."""
    start = month_start(now or timezone.now())
    mine = Reservation.objects.filter(workspace=workspace, user=user, created_at__gte=start)
    return _sum(mine, "amount") - _sum(Settlement.objects.filter(reservation__in=mine), "released")


def spent_by_key(api_key) -> Decimal:
    """Return what jobs made with `api_key` hold or have spent."""
    mine = Reservation.objects.filter(job__api_key=api_key)
    return _sum(mine, "amount") - _sum(Settlement.objects.filter(reservation__in=mine), "released")


@dataclass
class GrantLine:
    grant: Grant
    remaining: Decimal
    expires_at: datetime


def breakdown(workspace: Workspace, now: datetime | None = None) -> list[GrantLine]:
    """Return the spendable grants, first to expire first."""
    return [
        GrantLine(g, g.remaining, g.expires_at)
        for g in Grant.objects.spendable(workspace, now).select_related("pack")
    ]


# ---- moving -----------------------------------------------------------------------------------


def _entry(grant, kind, delta, amount, *, user=None, job=None, note="", staff=None, now=None):
    LedgerEntry.objects.create(
        workspace_id=grant.workspace_id,
        grant=grant,
        kind=kind,
        delta=delta,
        amount=amount,
        user=user,
        job=job,
        note=note,
        staff=staff,
        created_at=now or timezone.now(),
    )
    if delta:
        # Add in Python, not SQL: SQLite does NUMERIC arithmetic in floating point, and a
        # chain of `remaining + ?` updates drifts off the cent (7.7999…), which the
        # never-negative check then rightly refuses. The row is locked by our transaction.
        current = (
            Grant.objects.select_for_update().values_list("remaining", flat=True).get(pk=grant.pk)
        )
        Grant.objects.filter(pk=grant.pk).update(remaining=money(current + delta))


@transaction.atomic
def grant(
    workspace: Workspace,
    credits: Decimal,
    *,
    pack: Pack | None = None,
    by=None,
    note: str = "",
    now: datetime | None = None,
    kind: str = EntryKind.GRANT,
    staff=None,
) -> Grant:
    """Add `credits` to `workspace`, valid for the pack's validity (365 days by default).
    `staff` names the staff member granting it from the admin."""
    credits = money(credits)
    if credits <= 0:
        raise StudioError("A grant needs a positive number of credits.", param="credits")
    now = now or timezone.now()
    days = pack.validity_days if pack else VALIDITY_DAYS
    g = Grant.objects.create(
        workspace=workspace,
        pack=pack,
        credits=credits,
        remaining=ZERO,
        granted_at=now,
        expires_at=Grant.expiry_for(now, days),
        granted_by=by,
        note=note,
    )
    _entry(g, kind, credits, credits, user=by, note=note, staff=staff, now=now)
    g.refresh_from_db()
    return g


@transaction.atomic
def reserve(
    workspace: Workspace, member, job, quote: Quote, now: datetime | None = None, *, staff=None
) -> Reservation:
    """Hold `quote.credits` for `job`, drawn from the grants that expire first, as `member`
    spending (their monthly limit applies); `staff` names the staff member who asked for it.

    Raise InsufficientCredits (HTTP 402) when the balance, the member's monthly limit or the
    job's API key cap can't cover it; nothing is written then.
    """
    now = now or timezone.now()
    amount = money(quote.credits)
    # Serialise reservations of this workspace (PostgreSQL; SQLite already is).
    Workspace.objects.select_for_update().only("id").get(pk=workspace.pk)

    membership = Membership.objects.filter(workspace=workspace, user=member).first()
    if membership and membership.monthly_limit is not None:
        spent = spent_this_month(workspace, member, now)
        if spent + amount > membership.monthly_limit:
            left = max(ZERO, membership.monthly_limit - spent)
            raise InsufficientCredits(
                f"This needs {amount} credits, but your monthly limit is "
                f"{money(membership.monthly_limit)} and {money(left)} of it is left this month. "
                "A workspace admin can raise it."
            )
    api_key = getattr(job, "api_key", None)
    if api_key is not None and api_key.credit_cap is not None:
        spent = spent_by_key(api_key)
        if spent + amount > api_key.credit_cap:
            raise InsufficientCredits(
                f"This needs {amount} credits, but the API key {api_key.name!r} is capped at "
                f"{money(api_key.credit_cap)} and has "
                f"{money(max(ZERO, api_key.credit_cap - spent))} left."
            )

    grants = list(Grant.objects.spendable(workspace, now).select_for_update())
    available = money(sum((g.remaining for g in grants), ZERO))
    if available < amount:
        raise InsufficientCredits(
            f"This needs {amount} credits and the workspace has {available}. "
            "Add credits on the usage page."
        )
    reservation = Reservation.objects.create(
        job=job, workspace=workspace, user=member, amount=amount, created_at=now
    )
    left = amount
    for g in grants:
        if left <= 0:
            break
        take = min(g.remaining, left)
        _entry(g, EntryKind.RESERVE, -take, take, user=member, job=job, staff=staff, now=now)
        left -= take
    return reservation


def capture(job, delivered: Decimal, now: datetime | None = None) -> Settlement | None:
    """End `job`'s reservation by spending `delivered` credits (capped at the reservation)
    and releasing the rest. Return the Settlement, or None if it had already ended."""
    return _settle(job, money(delivered), "completed", now)


def release(job, reason: str, now: datetime | None = None, *, staff=None) -> Settlement | None:
    """End `job`'s reservation by giving all of it back (`staff`: the staff member who ended
    it). Return the Settlement, or None if it had already ended."""
    return _settle(job, ZERO, reason, now, staff)


@transaction.atomic
def _settle(
    job, captured: Decimal, reason: str, now: datetime | None, staff=None
) -> Settlement | None:
    now = now or timezone.now()
    try:
        reservation = Reservation.objects.select_for_update().get(job=job)
    except Reservation.DoesNotExist:
        return None
    captured = min(max(captured, ZERO), reservation.amount)
    try:
        # The unique key on Settlement.reservation makes "ends exactly once" a database fact,
        # not a flag someone might forget to check.
        with transaction.atomic():
            settlement = Settlement.objects.create(
                reservation=reservation,
                captured=captured,
                released=reservation.amount - captured,
                reason=reason,
                created_at=now,
            )
    except IntegrityError:
        return None
    # Spend from the draws in the order they were made (first to expire first); give back
    # the rest to the grants it came from.
    to_capture = captured
    draws = LedgerEntry.objects.filter(job=job, kind=EntryKind.RESERVE).select_related("grant")
    for draw in draws.order_by("id"):
        spend = min(draw.amount, to_capture)
        back = draw.amount - spend
        to_capture -= spend
        common = {"user": reservation.user, "job": job, "staff": staff, "now": now}
        if spend:
            _entry(draw.grant, EntryKind.CAPTURE, ZERO, spend, **common)
        if back:
            _entry(draw.grant, EntryKind.RELEASE, back, back, note=reason, **common)
            if draw.grant.expires_at <= now:
                # Returned to a pack that has expired meanwhile: write it off at once.
                _entry(
                    draw.grant,
                    EntryKind.EXPIRE,
                    -back,
                    back,
                    note="expired while reserved",
                    now=now,
                )
    return settlement


def expire_grants(now: datetime | None = None) -> int:
    """Write off what is left of every expired grant; return how many were written off."""
    now = now or timezone.now()
    count = 0
    for grant_id in Grant.objects.filter(expires_at__lte=now, remaining__gt=0).values_list(
        "id", flat=True
    ):
        with transaction.atomic():
            g = Grant.objects.select_for_update().get(pk=grant_id)
            if g.remaining > 0:
                _entry(g, EntryKind.EXPIRE, -g.remaining, g.remaining, note="pack expired", now=now)
                count += 1
    return count


@transaction.atomic
def adjust(
    workspace: Workspace, delta: Decimal, *, by=None, note: str = "", now: datetime | None = None
) -> None:
    """Correct a balance by `delta`: a positive one arrives as a grant; a negative one is
    taken from the grants that expire first, and refused if the balance can't cover it."""
    delta = money(delta)
    now = now or timezone.now()
    if delta > 0:
        grant(workspace, delta, by=by, note=note or "adjustment", now=now, kind=EntryKind.ADJUST)
        return
    Workspace.objects.select_for_update().only("id").get(pk=workspace.pk)
    grants = list(Grant.objects.spendable(workspace, now).select_for_update())
    need = -delta
    if sum((g.remaining for g in grants), ZERO) < need:
        raise InsufficientCredits(f"The workspace has less than {need} credits to take away.")
    for g in grants:
        take = min(g.remaining, need)
        if take:
            _entry(g, EntryKind.ADJUST, -take, take, user=by, note=note, now=now)
            need -= take


class CodeError(StudioError):
    pass


@transaction.atomic
def redeem(code: str, workspace: Workspace, user, now: datetime | None = None) -> Grant:
    """Turn a single-use redemption code into a grant for `workspace`."""
    now = now or timezone.now()
    normalised = code.strip().upper().replace(" ", "")
    if len(normalised) == 16 and "-" not in normalised:
        normalised = "-".join(normalised[i : i + 4] for i in range(0, 16, 4))
    found = (
        RedemptionCode.objects.select_for_update()
        .select_related("pack")
        .filter(code=normalised)
        .first()
    )
    if found is None:
        raise CodeError("That code doesn't exist. Check it and try again.", param="code")
    # Claim it with a conditional update: of two people redeeming one code, one wins.
    claimed = RedemptionCode.objects.filter(Q(pk=found.pk), Q(redeemed_at__isnull=True)).update(
        redeemed_at=now, redeemed_by=user
    )
    if not claimed:
        raise CodeError("That code has already been used.", param="code")
    g = grant(
        workspace, found.pack.credits, pack=found.pack, by=user, note=f"code {found.code}", now=now
    )
    RedemptionCode.objects.filter(pk=found.pk).update(grant=g)
    return g

"""The staff dashboard (/admin/dashboard/): the questions a team lead asks, answered at once.

Jobs and credits per day, failure rate per model, the slowest jobs, the queue, and the
workspaces about to run out of credits or members near their monthly limits. Every figure is
aggregated in SQL, in a fixed number of queries however many jobs there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.utils import timezone

from studio.accounts.models import Membership, Workspace
from studio.catalog.quote import money
from studio.credits.ledger import month_start
from studio.credits.models import EntryKind, Grant, LedgerEntry, Reservation
from studio.generations.models import FINAL_STATUSES, Job, JobStatus

DAYS = 14  # the per-day table, failure rates and slowest jobs look this far back
SLOWEST = 10
# A workspace is "running out" below this balance, or below what it spent in the last week.
LOW_BALANCE = Decimal("50")
# A member is "near their limit" having spent this share of their monthly limit.
NEAR_LIMIT = Decimal("0.8")
LISTED = 20
CREDITS = DecimalField(max_digits=14, decimal_places=2)
ZERO = Decimal("0.00")


@dataclass
class Day:
    day: date
    jobs: int = 0
    failed: int = 0
    spent: Decimal = Decimal("0.00")


def per_day(since: datetime, days: int) -> list[Day]:
    """Jobs submitted, failed, and credits spent on each of `days` days from `since`, newest
    first (2 queries). Rows are put in their day by comparing with the days' bounds: a
    date in the time zone from each row's time would be a Python call per row on SQLite."""
    bounds = [since + timedelta(days=i) for i in range(1, days + 1)]
    day = Case(
        *(When(created_at__lt=bound, then=Value(i)) for i, bound in enumerate(bounds)),
        output_field=IntegerField(),
    )
    window = {"created_at__gte": since, "created_at__lt": bounds[-1]}
    rows = [Day(timezone.localdate(bound - timedelta(days=1))) for bound in bounds]
    jobs = (
        Job.objects.filter(**window)
        .annotate(day=day)
        .values("day")
        .annotate(jobs=Count("id"), failed=Count("id", filter=Q(status=JobStatus.FAILED)))
        .order_by()
    )
    for row in jobs:
        rows[row["day"]].jobs, rows[row["day"]].failed = row["jobs"], row["failed"]
    spent = (
        LedgerEntry.objects.filter(kind=EntryKind.CAPTURE, **window)
        .annotate(day=day)
        .values("day")
        .annotate(spent=Sum("amount"))
        .order_by()
    )
    for row in spent:
        rows[row["day"]].spent = money(row["spent"] or 0)
    return rows[::-1]


def failure_rates(since: datetime) -> list[dict]:
    """Per model, of the jobs that ended since `since`: how many, how many failed, the rate
    (1 query), the worst first."""
    rows = (
        Job.objects.filter(created_at__gte=since, status__in=FINAL_STATUSES)
        .values("model")
        .annotate(ended=Count("id"), failed=Count("id", filter=Q(status=JobStatus.FAILED)))
        .order_by()
    )
    rates = [{**row, "rate": row["failed"] / row["ended"]} for row in rows]
    return sorted(rates, key=lambda row: (-row["rate"], -row["ended"], row["model"]))


def slowest(since: datetime) -> list[Job]:
    """The completed jobs that took longest from submit to result since `since` (1 query)."""
    jobs = list(
        Job.objects.filter(created_at__gte=since, status=JobStatus.COMPLETED)
        .select_related("workspace", "user")
        .order_by(Elapsed(F("finished_at"), F("created_at")).desc(), "-id")[:SLOWEST]
    )
    for job in jobs:
        job.took_text = _duration(job.finished_at - job.created_at)
    return jobs


class Elapsed(Func):
    """end - start, to order by: native on PostgreSQL; on SQLite in days by julianday(),
    where Django's own datetime subtraction is a Python call per row."""

    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = DurationField()

    def as_sqlite(self, compiler, connection, **extra):
        end, start = self.get_source_expressions()
        julian = FloatField()
        return Func(
            Func(end, function="julianday", output_field=julian),
            Func(start, function="julianday", output_field=julian),
            arg_joiner=" - ",
            template="(%(expressions)s)",
            output_field=julian,
        ).as_sql(compiler, connection, **extra)


def _duration(span: timedelta) -> str:
    """12 s, 3 min 5 s, 2 h 4 min."""
    seconds = round(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def queue() -> dict:
    """How many jobs wait for a worker and are running, and the oldest waiting (2 queries)."""
    counts = Job.objects.filter(status__in=(JobStatus.QUEUED, JobStatus.PROCESSING)).aggregate(
        queued=Count("id", filter=Q(status=JobStatus.QUEUED)),
        processing=Count("id", filter=Q(status=JobStatus.PROCESSING)),
    )
    oldest = (
        Job.objects.filter(status=JobStatus.QUEUED)
        .select_related("workspace", "user")
        .order_by("created_at", "id")
        .first()
    )
    return {**counts, "oldest": oldest}


def _total(queryset, value) -> Coalesce:
    """A correlated SUM of `value` (a field name or an expression) over `queryset` — a plain
    function, not an aggregate, so the subquery has no GROUP BY — and 0 when it has no rows."""
    value = F(value) if isinstance(value, str) else value
    summed = queryset.order_by().annotate(total=Func(value, function="SUM")).values("total")
    return Coalesce(
        Subquery(summed[:1], output_field=CREDITS), Value(Decimal(0)), output_field=CREDITS
    )


def running_out(now: datetime) -> list[Workspace]:
    """Workspaces whose balance is below LOW_BALANCE or below what they spent in the last 7
    days, the emptiest first (1 query)."""
    balance = _total(
        Grant.objects.filter(workspace=OuterRef("pk"), expires_at__gt=now), "remaining"
    )
    week = _total(
        LedgerEntry.objects.filter(
            workspace=OuterRef("pk"),
            kind=EntryKind.CAPTURE,
            created_at__gte=now - timedelta(days=7),
        ),
        "amount",
    )
    return list(
        Workspace.objects.annotate(balance=balance, spent_week=week)
        .filter(Q(balance__lt=LOW_BALANCE) | Q(balance__lt=F("spent_week")))
        .order_by("balance", "name")[:LISTED]
    )


def near_limits(now: datetime) -> list[Membership]:
    """Members who have spent NEAR_LIMIT of their monthly limit or more this month, the
    closest first (2 queries: the members with a limit, then what each spent, in one pass
    over this month's reservations rather than once per member)."""
    limited = list(
        Membership.objects.filter(monthly_limit__isnull=False, monthly_limit__gt=0)
        .select_related("user", "workspace")
        .order_by("pk")
    )
    if not limited:
        return []
    # What ledger.spent_this_month counts: reserved this month, less what came back.
    kept = F("amount") - Coalesce(F("settlement__released"), Value(Decimal(0)))
    spent = {
        (row["workspace"], row["user"]): money(row["spent"] or 0)
        for row in Reservation.objects.filter(
            created_at__gte=month_start(now),
            workspace__in={m.workspace_id for m in limited},
            user__in={m.user_id for m in limited},
        )
        .values("workspace", "user")
        .annotate(spent=Sum(ExpressionWrapper(kept, output_field=CREDITS)))
        .order_by()
    }
    near = []
    for membership in limited:
        membership.spent = spent.get((membership.workspace_id, membership.user_id), ZERO)
        if membership.spent >= membership.monthly_limit * NEAR_LIMIT:
            near.append(membership)
    near.sort(key=lambda m: -m.spent / m.monthly_limit)
    return near[:LISTED]


def view(request):
    """The dashboard page (staff only: admin.site.admin_view wraps it in studio.urls)."""
    from django.contrib import admin

    now = timezone.now()
    today = timezone.localdate(now)
    since = timezone.make_aware(
        datetime.combine(today - timedelta(days=DAYS - 1), datetime.min.time())
    )
    days = per_day(since, DAYS)
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "days": days,
        "peak": max((d.jobs for d in days), default=0),
        "window": DAYS,
        "rates": failure_rates(since),
        "slowest": slowest(since),
        "queue": queue(),
        "running_out": running_out(now),
        "near_limits": near_limits(now),
        "low_balance": LOW_BALANCE,
        "near_limit": int(NEAR_LIMIT * 100),
        "now": now,
    }
    return render(request, "admin/dashboard.html", context)

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
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.shortcuts import render
from django.utils import timezone

from studio.accounts.models import Membership, Workspace
from studio.catalog.quote import money
from studio.credits.ledger import month_start
from studio.credits.models import Grant, Reservation, Settlement
from studio.generations.models import FINAL_STATUSES, Job, JobStatus

DAYS = 14  # the per-day table, failure rates and slowest jobs look this far back
SLOWEST = 10
# A workspace is "running out" below this balance, or below what it spent in the last week.
LOW_BALANCE = Decimal("50")
# A member is "near their limit" having spent this share of their monthly limit.
NEAR_LIMIT = Decimal("0.8")
LISTED = 20
CREDITS = DecimalField(max_digits=14, decimal_places=2)


@dataclass
class Day:
    day: date
    jobs: int = 0
    failed: int = 0
    spent: Decimal = Decimal("0.00")


def per_day(since: datetime, today: date) -> list[Day]:
    """Jobs submitted, failed, and credits spent, each day from `since` to `today` (2 queries)."""
    days = {since.date() + timedelta(days=i): None for i in range((today - since.date()).days + 1)}
    rows = {day: Day(day) for day in days}
    jobs = (
        Job.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(jobs=Count("id"), failed=Count("id", filter=Q(status=JobStatus.FAILED)))
        .order_by()
    )
    for row in jobs:
        if row["day"] in rows:
            rows[row["day"]].jobs, rows[row["day"]].failed = row["jobs"], row["failed"]
    spent = (
        Settlement.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(spent=Sum("captured"))
        .order_by()
    )
    for row in spent:
        if row["day"] in rows:
            rows[row["day"]].spent = money(row["spent"] or 0)
    return list(reversed(rows.values()))  # newest first


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
    took = ExpressionWrapper(F("finished_at") - F("created_at"), output_field=DurationField())
    jobs = list(
        Job.objects.filter(created_at__gte=since, status=JobStatus.COMPLETED)
        .annotate(took=took)
        .select_related("workspace", "user")
        .order_by("-took")[:SLOWEST]
    )
    for job in jobs:
        job.took_text = _duration(job.took)
    return jobs


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


def _total(queryset, field: str) -> Coalesce:
    """A correlated SUM(`field`) of `queryset` (a plain function, not an aggregate, so the
    subquery has no GROUP BY), 0 when it has no rows."""
    summed = queryset.order_by().annotate(total=Func(F(field), function="SUM")).values("total")
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
        Settlement.objects.filter(
            reservation__workspace=OuterRef("pk"), created_at__gte=now - timedelta(days=7)
        ),
        "captured",
    )
    return list(
        Workspace.objects.annotate(balance=balance, spent_week=week)
        .filter(Q(balance__lt=LOW_BALANCE) | Q(balance__lt=F("spent_week")))
        .order_by("balance", "name")[:LISTED]
    )


def near_limits(now: datetime) -> list[Membership]:
    """Members who have spent NEAR_LIMIT of their monthly limit or more this month, the
    closest first (1 query)."""
    start = month_start(now)
    mine = {
        "workspace": OuterRef("workspace"),
        "user": OuterRef("user"),
        "created_at__gte": start,
    }
    reserved = _total(Reservation.objects.filter(**mine), "amount")
    released = _total(
        Settlement.objects.filter(**{f"reservation__{k}": v for k, v in mine.items()}),
        "released",
    )
    spent = ExpressionWrapper(reserved - released, output_field=CREDITS)
    return list(
        Membership.objects.filter(monthly_limit__isnull=False, monthly_limit__gt=0)
        .annotate(spent=spent)
        .filter(spent__gte=F("monthly_limit") * NEAR_LIMIT)
        .select_related("user", "workspace")
        .order_by("-spent", "pk")[:LISTED]
    )


def view(request):
    """The dashboard page (staff only: admin.site.admin_view wraps it in studio.urls)."""
    from django.contrib import admin

    now = timezone.now()
    today = timezone.localdate(now)
    since = timezone.make_aware(
        datetime.combine(today - timedelta(days=DAYS - 1), datetime.min.time())
    )
    days = per_day(since, today)
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

"""The usage page: balance, spending by day / member / model / tool, the jobs table, CSV.

"Spent" means captured: the credits of capture entries in the ledger, dated when captured.
Owners and admins see every member; everyone else sees only their own usage.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from studio.accounts.decorators import workspace_required
from studio.accounts.models import Membership, Role
from studio.catalog.tables import MODELS
from studio.credits import ledger
from studio.credits.models import EntryKind, LedgerEntry
from studio.errors import StudioError
from studio.generations.models import Job, JobKind, JobSource

PERIODS = {"7d": "Last 7 days", "30d": "Last 30 days", "90d": "Last 90 days", "month": "This month"}
TOOLS = {
    JobKind.GENERATE: "Generate",
    JobKind.EDIT: "Edit",
    JobKind.ANIMATE: "Animate",
    "api": "API",
}
JOBS_PAGE = 25
CHART_W, CHART_H, CHART_PAD = 1040, 200, 34
ZERO = Decimal("0.00")


@dataclass
class Filters:
    period: str
    start: datetime
    end: datetime
    member_id: int | None
    model: str
    tool: str

    def query(self) -> str:
        return urlencode(
            {
                "period": self.period,
                "member": self.member_id or "",
                "model": self.model,
                "tool": self.tool,
            }
        )


def read_filters(request, now: datetime) -> Filters:
    period = request.GET.get("period", "30d")
    if period not in PERIODS:
        period = "30d"
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        start = ledger.month_start(now)
    else:
        start = today - timedelta(days=int(period[:-1]) - 1)
    member_id = None
    if request.membership.is_admin:
        try:
            member_id = int(request.GET.get("member") or 0) or None
        except ValueError:
            member_id = None
    else:
        member_id = request.user.id  # a member sees their own usage only
    model = request.GET.get("model", "")
    tool = request.GET.get("tool", "")
    return Filters(
        period,
        start,
        now,
        member_id,
        model if model in MODELS else "",
        tool if tool in TOOLS else "",
    )


def _tool_q(tool: str, prefix: str = "") -> Q:
    if tool == "api":
        return Q(**{f"{prefix}source": JobSource.API})
    return Q(**{f"{prefix}source": JobSource.STUDIO, f"{prefix}kind": tool})


def captures(workspace, f: Filters) -> QuerySet:
    entries = LedgerEntry.objects.filter(
        workspace=workspace, kind=EntryKind.CAPTURE, created_at__gte=f.start, created_at__lte=f.end
    )
    if f.member_id:
        entries = entries.filter(user_id=f.member_id)
    if f.model:
        entries = entries.filter(job__model=f.model)
    if f.tool:
        entries = entries.filter(_tool_q(f.tool, "job__"))
    return entries


def jobs(workspace, f: Filters) -> QuerySet:
    rows = Job.objects.filter(workspace=workspace, created_at__gte=f.start, created_at__lte=f.end)
    if f.member_id:
        rows = rows.filter(user_id=f.member_id)
    if f.model:
        rows = rows.filter(model=f.model)
    if f.tool:
        rows = rows.filter(_tool_q(f.tool))
    return rows.select_related("user", "reservation__settlement", "api_key").order_by(
        "-created_at", "-id"
    )


def _grouped(entries: QuerySet, field: str) -> list[tuple[str, Decimal]]:
    rows = entries.values(field).annotate(total=Sum("amount")).order_by("-total")
    return [(row[field], ledger.money(row["total"] or 0)) for row in rows]


def by_tool(entries: QuerySet) -> list[tuple[str, Decimal]]:
    totals: dict[str, Decimal] = {}
    for row in entries.values("job__source", "job__kind").annotate(total=Sum("amount")):
        tool = "api" if row["job__source"] == JobSource.API else row["job__kind"]
        totals[tool] = totals.get(tool, ZERO) + ledger.money(row["total"] or 0)
    return sorted(((TOOLS[k], v) for k, v in totals.items()), key=lambda kv: -kv[1])


def daily_chart(entries: QuerySet, f: Filters) -> dict:
    """Bars for each day of the period, as SVG geometry."""
    per_day = {
        row["day"]: ledger.money(row["total"] or 0)
        for row in entries.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(total=Sum("amount"))
    }
    first = timezone.localtime(f.start).date()
    last = timezone.localtime(f.end).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    peak = max(per_day.values(), default=ZERO)
    top = _nice_ceiling(peak)
    inner_w, inner_h = CHART_W - CHART_PAD - 8, CHART_H - 24
    step = inner_w / max(len(days), 1)
    bars = []
    for i, day in enumerate(days):
        value = per_day.get(day, ZERO)
        height = float(value / top) * inner_h if top else 0
        bars.append(
            {
                "x": round(CHART_PAD + i * step + step * 0.15, 1),
                "w": round(step * 0.7, 1),
                "y": round(inner_h - height + 4, 1),
                "h": round(max(height, 0), 1),
                "day": day,
                "value": value,
                "label": f"{day:%b} {day.day}" if _label_day(i, len(days)) else "",
                "label_x": round(CHART_PAD + i * step + step / 2, 1),
            }
        )
    return {
        "bars": bars,
        "top": top,
        "width": CHART_W,
        "height": CHART_H,
        "base_y": inner_h + 4,
        "mid_y": round(inner_h / 2 + 4, 1),
        "mid": top / 2,
        "pad": CHART_PAD,
        "total": sum(per_day.values(), ZERO),
    }


def _label_day(i: int, count: int) -> bool:
    if count <= 10:
        return True
    every = 7 if count <= 31 else 14
    last = count - 1
    # Label every week, and the last day unless a weekly label sits right next to it.
    return i % every == 0 and last - i >= every // 2 or i == last


def _nice_ceiling(value: Decimal) -> Decimal:
    if value <= 0:
        return Decimal(10)
    for top in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if value <= top:
            return Decimal(top)
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    return (value / magnitude).to_integral_value(rounding="ROUND_CEILING") * magnitude


def _with_share(rows: list[tuple[str, Decimal]]) -> list[dict]:
    top = max((v for _, v in rows), default=ZERO)
    return [
        {
            "name": name or "—",
            "value": value,
            "pct": round(float(value / top) * 100, 1) if top else 0,
        }
        for name, value in rows
    ]


@workspace_required
def usage(request):
    now = timezone.now()
    f = read_filters(request, now)
    ws = request.workspace
    entries = captures(ws, f)
    context = {
        "filters": f,
        "periods": PERIODS,
        "tools": TOOLS,
        "models": list(MODELS),
        "is_admin": request.membership.is_admin,
        "members": Membership.objects.filter(workspace=ws)
        .select_related("user")
        .order_by("user__username"),
        "chart": daily_chart(entries, f),
        "by_member": _with_share(_grouped(entries, "user__username")),
        "by_model": _with_share(_grouped(entries, "job__model")),
        "by_tool": _with_share(by_tool(entries)),
        "page": Paginator(jobs(ws, f), JOBS_PAGE).get_page(request.GET.get("page")),
    }
    if request.htmx and request.htmx.target == "usage-body":
        return render(request, "front/usage.html#usage-body", context)
    membership = request.membership
    context.update(
        {
            "balance": ledger.balance(ws, now),
            "held": ledger.held(ws),
            "grants": ledger.breakdown(ws, now),
            "monthly_limit": membership.monthly_limit,
            "spent_this_month": ledger.spent_this_month(ws, request.user, now),
            "can_redeem": membership.has_role(Role.OWNER),
        }
    )
    return render(request, "front/usage.html", context)


class _Echo:
    def write(self, value):
        return value


@workspace_required
def usage_csv(request):
    """The jobs table for the current filters, every row, as CSV."""
    f = read_filters(request, timezone.now())
    writer = csv.writer(_Echo())
    header = [
        "job",
        "created_at",
        "member",
        "tool",
        "model",
        "status",
        "reserved",
        "captured",
        "released",
        "api_key",
    ]

    def rows():
        yield writer.writerow(header)
        for job in jobs(request.workspace, f).iterator(chunk_size=500):
            s = getattr(getattr(job, "reservation", None), "settlement", None)
            yield writer.writerow(
                [
                    job.public_id,
                    job.created_at.isoformat(),
                    job.user.username,
                    job.tool,
                    job.model,
                    job.status,
                    job.credits_quoted,
                    s.captured if s else "",
                    s.released if s else "",
                    job.api_key.name if job.api_key else "",
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="usage-{stamp}.csv"'
    return response


@require_POST
@workspace_required(role=Role.OWNER)
def redeem(request):
    try:
        g = ledger.redeem(request.POST.get("code", ""), request.workspace, request.user)
    except StudioError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request, f"Added {g.credits} credits, valid until {g.expires_at:%Y-%m-%d}."
        )
    return redirect("usage")

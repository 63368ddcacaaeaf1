from __future__ import annotations

import csv

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone

from studio.accounts.models import Workspace
from studio.credits import ledger
from studio.credits.models import (
    Grant,
    LedgerEntry,
    Pack,
    RedemptionCode,
    Reservation,
    Settlement,
)


class GrantPackForm(forms.Form):
    workspace = forms.ModelChoiceField(Workspace.objects.all())
    pack = forms.ModelChoiceField(Pack.objects.filter(active=True))
    note = forms.CharField(required=False, max_length=200)


class CodeBatchForm(forms.Form):
    pack = forms.ModelChoiceField(Pack.objects.filter(active=True))
    count = forms.IntegerField(min_value=1, max_value=1000, initial=10)
    batch = forms.CharField(max_length=60, help_text="A label to find this batch again.")


@admin.register(Pack)
class PackAdmin(admin.ModelAdmin):
    list_display = ["name", "credits", "price_label", "validity_days", "active"]
    actions = None

    def get_urls(self):
        return [
            path("grant/", self.admin_site.admin_view(self.grant_view), name="credits_grant"),
            path("codes/", self.admin_site.admin_view(self.codes_view), name="credits_codes"),
            path(
                "codes.csv",
                self.admin_site.admin_view(self.codes_csv_view),
                name="credits_codes_csv",
            ),
            *super().get_urls(),
        ]

    def grant_view(self, request):
        """Grant a pack to a workspace: the staff's way of adding credits."""
        # ?workspace= preselects it (the dashboard's "Grant a pack" beside a workspace).
        form = GrantPackForm(
            request.POST or None, initial={"workspace": request.GET.get("workspace")}
        )
        if request.method == "POST" and form.is_valid():
            pack, ws = form.cleaned_data["pack"], form.cleaned_data["workspace"]
            ledger.grant(
                ws,
                pack.credits,
                pack=pack,
                by=request.user,
                staff=request.user,
                note=form.cleaned_data["note"] or f"pack {pack.name}",
            )
            messages.success(request, f"Granted {pack} to {ws}. Balance: {ledger.balance(ws)}.")
            return redirect("admin:credits_grant")
        ctx = {**self.admin_site.each_context(request), "form": form, "title": "Grant a pack"}
        return render(request, "admin/credits/form.html", ctx)

    def codes_view(self, request):
        """Generate a batch of single-use redemption codes for a pack."""
        form = CodeBatchForm(request.POST or None)
        codes = []
        if request.method == "POST" and form.is_valid():
            codes = RedemptionCode.objects.bulk_create(
                RedemptionCode(pack=form.cleaned_data["pack"], batch=form.cleaned_data["batch"])
                for _ in range(form.cleaned_data["count"])
            )
            messages.success(request, f"Generated {len(codes)} codes.")
        ctx = {
            **self.admin_site.each_context(request),
            "form": form,
            "codes": codes,
            "batch": form.cleaned_data["batch"] if codes else "",
            "title": "Generate redemption codes",
        }
        return render(request, "admin/credits/form.html", ctx)

    def codes_csv_view(self, request):
        """Every code of the batch named by ?batch=, as CSV."""
        batch = request.GET.get("batch", "")
        return codes_csv(RedemptionCode.objects.filter(batch=batch), batch or "codes")


CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: a staff-typed pack or batch name that starts
    like a formula is not run as one."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_STARTS) else text


def codes_csv(codes, name: str) -> HttpResponse:
    """`codes` as a CSV download: one row per code, with its pack and whether it was used."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60]
    response["Content-Disposition"] = f'attachment; filename="redemption-codes-{slug}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["code", "pack", "credits", "batch", "created_at", "redeemed_at", "redeemed_by"]
    )
    for code in codes.select_related("pack", "redeemed_by").order_by("created_at", "id"):
        writer.writerow(
            [
                code.code,
                _cell(code.pack.name),
                code.pack.credits,
                _cell(code.batch),
                timezone.localtime(code.created_at).isoformat(),
                timezone.localtime(code.redeemed_at).isoformat() if code.redeemed_at else "",
                code.redeemed_by.username if code.redeemed_by else "",
            ]
        )
    return response


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ["workspace", "credits", "remaining", "pack", "granted_at", "expires_at"]
    list_filter = ["pack"]
    search_fields = ["workspace__name"]
    readonly_fields = [f.name for f in Grant._meta.fields]

    def has_add_permission(self, request):
        return False  # grants go through the ledger: use "Grant a pack"

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """The append-only ledger: read, never written, here."""

    list_display = [
        "created_at",
        "workspace",
        "kind",
        "delta",
        "amount",
        "user",
        "staff",
        "job",
        "note",
    ]
    list_filter = ["kind"]
    search_fields = ["workspace__name", "job__public_id", "staff__username"]
    readonly_fields = [f.name for f in LedgerEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reservation)
class ReservationAdmin(LedgerEntryAdmin):
    list_display = ["created_at", "workspace", "user", "job", "amount"]
    list_filter = []
    search_fields = ["workspace__name", "job__public_id"]
    readonly_fields = [f.name for f in Reservation._meta.fields]


@admin.register(Settlement)
class SettlementAdmin(LedgerEntryAdmin):
    list_display = ["created_at", "reservation", "captured", "released", "reason"]
    list_filter = ["reason"]
    search_fields = ["reservation__job__public_id", "reservation__workspace__name"]
    readonly_fields = [f.name for f in Settlement._meta.fields]


@admin.register(RedemptionCode)
class RedemptionCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "pack", "batch", "created_at", "redeemed_at", "redeemed_by"]
    list_filter = ["batch", "pack"]
    search_fields = ["code", "batch"]
    readonly_fields = ["code", "redeemed_at", "redeemed_by", "grant"]
    actions = ["export_csv"]

    def get_readonly_fields(self, request, obj=None):
        # What a code is worth is fixed once it exists: it may be in someone's hands.
        return [*self.readonly_fields, "pack"] if obj else self.readonly_fields

    @admin.action(description="Export the selected codes as CSV")
    def export_csv(self, request, queryset):
        return codes_csv(queryset, "selected")

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path

from studio.accounts.models import Workspace
from studio.credits import ledger
from studio.credits.models import Grant, LedgerEntry, Pack, RedemptionCode, Reservation


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
            *super().get_urls(),
        ]

    def grant_view(self, request):
        """Grant a pack to a workspace: the staff's way of adding credits."""
        form = GrantPackForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            pack, ws = form.cleaned_data["pack"], form.cleaned_data["workspace"]
            ledger.grant(
                ws,
                pack.credits,
                pack=pack,
                by=request.user,
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
            "title": "Generate redemption codes",
        }
        return render(request, "admin/credits/form.html", ctx)


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
    list_display = ["created_at", "workspace", "kind", "delta", "amount", "user", "job", "note"]
    list_filter = ["kind"]
    search_fields = ["workspace__name", "job__public_id"]
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
    readonly_fields = [f.name for f in Reservation._meta.fields]


@admin.register(RedemptionCode)
class RedemptionCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "pack", "batch", "created_at", "redeemed_at", "redeemed_by"]
    list_filter = ["batch", "pack"]
    search_fields = ["code", "batch"]
    readonly_fields = ["code", "redeemed_at", "redeemed_by", "grant"]

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from studio.generations import runner
from studio.generations.media import signed_path
from studio.generations.models import Asset, Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "created_at",
        "workspace",
        "user",
        "kind",
        "source",
        "model",
        "status",
        "progress",
        "credits_quoted",
        "error_code",
    ]
    list_filter = ["status", "kind", "source", "model", "provider", "error_code"]
    search_fields = ["public_id", "prompt", "workspace__name", "user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["workspace", "user"]
    readonly_fields = [f.name for f in Job._meta.fields] + ["failure"]
    actions = ["cancel_queued", "mend_now"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger points at jobs; they are history

    @admin.action(description="Cancel the selected queued jobs (credits released)")
    def cancel_queued(self, request, queryset):
        count = sum(runner.cancel(job) for job in queryset.filter(status="queued"))
        messages.success(request, f"Cancelled {count} job(s).")

    @admin.action(description="Recover stuck jobs now (dead workers, lost messages, timeouts)")
    def mend_now(self, request, queryset):
        messages.success(
            request,
            f"Recovered {runner.recover()} job(s); poller "
            f"{'started' if runner.ensure_pump() else 'already running'}.",
        )


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = [
        "preview",
        "uid",
        "created_at",
        "workspace",
        "user",
        "kind",
        "made_by",
        "width",
        "height",
        "deleted_at",
    ]
    list_filter = ["kind", "made_by", "private"]
    search_fields = ["uid", "prompt", "workspace__name", "user__username"]
    list_select_related = ["workspace", "user"]
    readonly_fields = [f.name for f in Asset._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="")
    def preview(self, asset):
        return format_html(
            '<img src="{}" width="64" style="border-radius:4px">', signed_path(asset, "thumb")
        )

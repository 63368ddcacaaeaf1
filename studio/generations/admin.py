from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from studio.errors import StudioError
from studio.generations import runner
from studio.generations.media import signed_path
from studio.generations.models import ACTIVE_STATUSES, Asset, Job, JobStatus


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
    # A job is history and its money fields are the ledger's business: nothing is editable.
    readonly_fields = [f.name for f in Job._meta.fields] + ["failure"]
    actions = ["retry_failed", "cancel_active", "mend_now"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger points at jobs; they are history

    @admin.action(description="Retry the selected failed jobs (a new job, billed as before)")
    def retry_failed(self, request, queryset):
        """Submit each failed job again as its own user would: a new job and reservation in
        the same workspace, within that user's monthly limit; the ledger names the staff."""
        retried, refused = [], []
        failed = queryset.filter(status=JobStatus.FAILED)
        for job in failed.select_related("workspace", "user", "api_key", "source_asset"):
            try:
                retried.append(runner.retry(job, job.user, staff=request.user).public_id)
            except StudioError as e:
                refused.append(f"{job.public_id}: {e.message}")
        if retried:
            messages.success(request, f"Retried as {', '.join(retried)}.")
        for line in refused:
            messages.error(request, f"Not retried: {line}")
        if not retried and not refused:
            messages.warning(request, "None of the selected jobs failed; nothing to retry.")

    @admin.action(description="Cancel the selected queued or running jobs (credits released)")
    def cancel_active(self, request, queryset):
        jobs = list(queryset.filter(status__in=ACTIVE_STATUSES))
        cancelled = sum(runner.cancel(job, staff=request.user) for job in jobs)
        messages.success(request, f"Cancelled {cancelled} job(s).")
        if cancelled < len(jobs):
            messages.warning(
                request,
                f"{len(jobs) - cancelled} job(s) could not be cancelled: they ended meanwhile, "
                "or run on a provider that can't stop them.",
            )

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
            '<img class="admin-thumb" src="{}" width="64" alt="">', signed_path(asset, "thumb")
        )

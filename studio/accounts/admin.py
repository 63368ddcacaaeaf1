from django.contrib import admin

from studio.accounts.models import ApiKey, Membership, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "monthly_limit", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "workspace__name"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Every key, never its hash: the prefix identifies it, revoking is a date."""

    list_display = [
        "name",
        "prefix",
        "user",
        "workspace",
        "created_at",
        "last_used_at",
        "expires_at",
        "credit_cap",
        "revoked_at",
    ]
    list_filter = ["workspace"]
    search_fields = ["name", "prefix", "user__username", "workspace__name"]
    exclude = ["hashed"]
    readonly_fields = ["user", "workspace", "prefix", "created_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created by their owners, shown once

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone

from studio.accounts.models import ApiKey, Membership, Workspace, deactivate_user


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
    readonly_fields = ["user", "workspace", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created by their owners, shown once

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StudioUserAdmin(UserAdmin):
    """Django's user admin, where deactivating someone also ends their sessions and revokes
    their API keys at once (the action, or unticking "Active" on their page)."""

    actions = ["deactivate"]

    @admin.action(description="Deactivate the selected users (sign them out, revoke their keys)")
    def deactivate(self, request, queryset):
        users = list(queryset.exclude(pk=request.user.pk))
        if len(users) < queryset.count():
            messages.warning(request, "You can't deactivate yourself; the others are done.")
        keys = sum(deactivate_user(user) for user in users)
        messages.success(
            request, f"Deactivated {len(users)} user(s): signed out, {keys} key(s) revoked."
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            keys = deactivate_user(obj)
            messages.info(request, f"{obj} is signed out everywhere; {keys} key(s) revoked.")

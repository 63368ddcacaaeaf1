from django.contrib import admin
from django.utils import timezone

from studio.gallery.models import Board, Share


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "created_by", "created_at"]
    search_fields = ["name", "workspace__name"]
    list_select_related = ["workspace", "created_by"]
    readonly_fields = ["workspace", "created_by", "created_at"]


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    """Every share link, to see what is out there and stop any of them at once."""

    list_display = ["__str__", "workspace", "created_by", "created_at", "expires_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["workspace", "created_by"]
    readonly_fields = [f.name for f in Share._meta.fields if f.name != "token"]
    exclude = ["token"]  # a live token is a key to the shared page: not shown here
    actions = ["stop"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Stop these share links now")
    def stop(self, request, queryset):
        stopped = queryset.stop(timezone.now())
        self.message_user(request, f"Stopped {stopped} share links.")

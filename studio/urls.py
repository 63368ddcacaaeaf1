from django.contrib import admin
from django.urls import include, path

from studio.ops import dashboard

admin.site.site_header = "Pixapi Studio admin"
admin.site.site_title = "Pixapi Studio admin"

urlpatterns = [
    path("", include("studio.front.urls")),
    path("", include("studio.accounts.urls")),
    path("", include("studio.generations.urls")),
    path("", include("studio.api.urls")),
    path("admin/dashboard/", admin.site.admin_view(dashboard.view), name="staff_dashboard"),
    path("admin/", admin.site.urls),
]

from django.contrib.auth import views as auth_views
from django.urls import path

from studio.accounts import views

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Forgotten passwords: Django's own views, their URL names and our templates
    # (templates/registration/password_reset_*); the mail goes out through EMAIL_URL.
    path(
        "accounts/password/reset/",
        auth_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("workspaces/new/", views.new_workspace, name="new_workspace"),
    path("workspaces/<int:workspace_id>/switch/", views.switch_workspace, name="switch_workspace"),
    path("workspace/members/", views.members, name="members"),
    path("workspace/members/<int:membership_id>/", views.update_member, name="update_member"),
    path(
        "workspace/members/<int:membership_id>/remove/", views.remove_member, name="remove_member"
    ),
]

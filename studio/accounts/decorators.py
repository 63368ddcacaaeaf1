from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from studio.accounts.current import current_membership
from studio.accounts.models import Role


def workspace_required(view=None, *, role: str = Role.VIEWER):
    """Require a signed-in user with at least `role` in their current workspace.

    Sets `request.membership` and `request.workspace` for the view. A user with no workspace
    sees a page that says so; a role that is too weak gets 403.
    """

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            membership = current_membership(request)
            if membership is None:
                return render(request, "accounts/no_workspace.html", status=403)
            if not membership.has_role(role):
                raise PermissionDenied(f"This needs the {role} role in {membership.workspace}.")
            request.membership = membership
            request.workspace = membership.workspace
            return view(request, *args, **kwargs)

        return wrapped

    return decorator(view) if view else decorator

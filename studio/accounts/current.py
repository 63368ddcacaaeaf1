"""Which workspace a signed-in request acts in.

The current workspace is the one saved in the session while the user still belongs to it,
else their first. Resolved once per request and cached on it.
"""

from __future__ import annotations

from studio.accounts.models import Membership

SESSION_KEY = "workspace_id"


def memberships(request) -> list[Membership]:
    if not hasattr(request, "_memberships"):
        user = request.user
        request._memberships = (
            list(Membership.objects.for_user(user)) if user.is_authenticated else []
        )
    return request._memberships


def current_membership(request) -> Membership | None:
    """Return the caller's membership in their current workspace, or None."""
    wanted = request.session.get(SESSION_KEY)
    mine = memberships(request)
    for membership in mine:
        if membership.workspace_id == wanted:
            return membership
    return mine[0] if mine else None

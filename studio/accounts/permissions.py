"""Who may do what in a workspace: one set of rules for both doors, the pages and /v1.

Each rule takes the actor's Membership as it is now — an API key acts with its owner's
current role, read on every request, so a demotion or a removal takes effect at once — and,
for a rule about one job or asset, that thing. `may_*` answer True or False (a page hides a
button); `require_*` raise StudioError(`permission_denied`, HTTP 403 in the API) with a
message that names the role needed.

- Making media (a job: generate, edit, animate) is for members and up; viewers only look.
- Cancelling or retrying a job is for its maker, or an admin or owner.
- Sharing or deleting an asset is for its maker, or an admin or owner.

Either of the last two also needs the member role: a maker demoted to viewer only looks.
"""

from __future__ import annotations

from studio.accounts.models import Membership, Role
from studio.errors import ErrorType, StudioError


def may_create(membership: Membership) -> bool:
    return membership.has_role(Role.MEMBER)


def _made_or_admin(membership: Membership, thing) -> bool:
    return may_create(membership) and (thing.user_id == membership.user_id or membership.is_admin)


def may_change_job(membership: Membership, job) -> bool:
    """Cancel or retry `job`."""
    return _made_or_admin(membership, job)


def may_change_asset(membership: Membership, asset) -> bool:
    """Share or delete `asset`."""
    return _made_or_admin(membership, asset)


def _denied(message: str) -> StudioError:
    return StudioError(message, code=ErrorType.PERMISSION_DENIED)


def _your_role(membership: Membership) -> str:
    return f"your role in {membership.workspace} is {membership.role}"


def require_create(membership: Membership) -> None:
    if not may_create(membership):
        raise _denied(
            f"Making images and videos needs the {Role.MEMBER} role or higher; "
            f"{_your_role(membership)}."
        )


def _require_made_or_admin(membership: Membership, thing, action: str) -> None:
    if not _made_or_admin(membership, thing):
        raise _denied(
            f"Only the person who made this (in the {Role.MEMBER} role or higher), or an "
            f"{Role.ADMIN} or {Role.OWNER}, can {action} it; {_your_role(membership)}."
        )


def require_change_job(membership: Membership, job, action: str = "cancel") -> None:
    """Raise unless `membership` may `action` (cancel, retry, delete) `job`."""
    _require_made_or_admin(membership, job, action)


def require_change_asset(membership: Membership, asset, action: str = "delete") -> None:
    """Raise unless `membership` may `action` (share, delete) `asset`."""
    _require_made_or_admin(membership, asset, action)

"""Who may change what in the gallery (what they may see is Asset.objects.visible_to)."""

from __future__ import annotations

from studio.accounts.models import Membership


def may_change_asset(membership: Membership, asset) -> bool:
    """Share, trash, restore or make private `asset`: its maker or an admin or owner, in the
    member role or higher (a maker demoted to viewer only looks)."""
    return membership.can_create and (asset.user_id == membership.user_id or membership.is_admin)


def may_change_boards(membership: Membership) -> bool:
    """Create, rename, delete, fill and share boards: members and up."""
    return membership.can_create

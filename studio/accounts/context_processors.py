from studio.accounts.current import current_membership, memberships


def workspace(request):
    """The current workspace and the others the user can switch to, for the header."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "current_membership": current_membership(request),
        "all_memberships": memberships(request),
    }

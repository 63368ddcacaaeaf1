from studio.accounts.current import current_membership, memberships


def workspace(request):
    """The current workspace, the others the user can switch to, and its balance (computed
    only if a template shows it)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = current_membership(request)
    context = {"current_membership": membership, "all_memberships": memberships(request)}
    if membership is not None:
        from studio.credits.ledger import balance

        context["credit_balance"] = lambda: balance(membership.workspace)
    return context

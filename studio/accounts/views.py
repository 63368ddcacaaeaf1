from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from studio.accounts.current import SESSION_KEY
from studio.accounts.decorators import workspace_required
from studio.accounts.forms import AddMemberForm, MemberRoleForm, WorkspaceForm
from studio.accounts.models import Membership, Role


def _safe_next(request, fallback: str = "studio") -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_POST
@login_required
def switch_workspace(request, workspace_id: int):
    membership = Membership.objects.filter(user=request.user, workspace_id=workspace_id).first()
    if membership is None:
        raise Http404("No such workspace.")
    request.session[SESSION_KEY] = membership.workspace_id
    messages.success(request, f"Switched to {membership.workspace}.")
    return redirect(_safe_next(request))


@login_required
def new_workspace(request):
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            workspace = form.save()
            Membership.objects.create(user=request.user, workspace=workspace, role=Role.OWNER)
        request.session[SESSION_KEY] = workspace.id
        messages.success(request, f"Created {workspace}. You are its owner.")
        return redirect("members")
    return render(request, "accounts/new_workspace.html", {"form": form})


def _get_member_for_admin(request, membership_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"), pk=membership_id, workspace=request.workspace
    )


@workspace_required
def members(request):
    can_manage = request.membership.is_admin
    form = AddMemberForm(
        request.POST if request.method == "POST" and can_manage else None,
        workspace=request.workspace,
        actor=request.membership,
    )
    if request.method == "POST":
        if not can_manage:
            messages.error(request, "Only owners and admins can add members.")
            return redirect("members")
        if form.is_valid():
            membership = form.save()
            messages.success(request, f"Added {membership.user.username} as {membership.role}.")
            return redirect("members")
    rows = (
        Membership.objects.filter(workspace=request.workspace)
        .select_related("user")
        .order_by("user__username")
    )
    return render(
        request,
        "accounts/members.html",
        {"form": form, "rows": rows, "can_manage": can_manage, "roles": Role.choices},
    )


def _owners_left_after(membership: Membership, new_role: str | None) -> int:
    owners = Membership.objects.filter(workspace=membership.workspace, role=Role.OWNER)
    count = owners.exclude(pk=membership.pk).count()
    return count + (1 if new_role == Role.OWNER else 0)


@require_POST
@workspace_required(role=Role.ADMIN)
def update_member(request, membership_id: int):
    membership = _get_member_for_admin(request, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect("members")
    role = form.cleaned_data["role"]
    acting_owner = request.membership.has_role(Role.OWNER)
    if (role == Role.OWNER or membership.role == Role.OWNER) and not acting_owner:
        messages.error(request, "Only an owner can make or change an owner.")
    elif membership.role == Role.OWNER and _owners_left_after(membership, role) == 0:
        messages.error(request, "A workspace needs at least one owner.")
    else:
        membership.role = role
        membership.monthly_limit = form.cleaned_data["monthly_limit"]
        membership.save(update_fields=["role", "monthly_limit"])
        messages.success(request, f"Updated {membership.user.username}.")
    return redirect("members")


@require_POST
@workspace_required(role=Role.ADMIN)
def remove_member(request, membership_id: int):
    membership = _get_member_for_admin(request, membership_id)
    if membership.role == Role.OWNER and not request.membership.has_role(Role.OWNER):
        messages.error(request, "Only an owner can remove an owner.")
    elif membership.role == Role.OWNER and _owners_left_after(membership, None) == 0:
        messages.error(request, "A workspace needs at least one owner.")
    else:
        membership.remove()
        messages.success(
            request,
            f"Removed {membership.user.username} from {request.workspace} and revoked their "
            "API keys here.",
        )
    return redirect("members")

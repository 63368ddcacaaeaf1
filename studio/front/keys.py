"""The API keys page: create (shown once), list, revoke."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from studio.accounts.decorators import workspace_required
from studio.accounts.models import ApiKey, Role
from studio.catalog.tables import MODELS


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, initial="My script")
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The key stops working at the start of this day (UTC).",
    )
    credit_cap = forms.DecimalField(
        required=False,
        min_value=1,
        max_digits=12,
        decimal_places=2,
        help_text="Optional. The most this key may ever spend.",
    )
    allowed_models = forms.MultipleChoiceField(
        required=False,
        choices=[(m, m) for m in MODELS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Optional. Leave all unticked to allow every model.",
    )

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day and day <= timezone.now().date():
            raise forms.ValidationError("Pick a day after today.")
        return day


def _keys_for(request):
    keys = ApiKey.objects.filter(workspace=request.workspace).select_related("user")
    if not request.membership.is_admin:
        keys = keys.filter(user=request.user)
    return keys.annotate(spent=Sum("jobs__reservation__settlement__captured")).order_by(
        "revoked_at", "-created_at"
    )


# The session holds a new key only between its creation and the page showing it once.
NEW_KEY = "new_api_key"


@workspace_required(role=Role.MEMBER)
def api_keys(request):
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        day = form.cleaned_data["expires_on"]
        _, raw = ApiKey.create(
            user=request.user,
            workspace=request.workspace,
            name=form.cleaned_data["name"],
            expires_at=dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC) if day else None,
            credit_cap=form.cleaned_data["credit_cap"],
            allowed_models=form.cleaned_data["allowed_models"],
        )
        # Redirect after the POST, so reloading the page can't create a second key.
        request.session[NEW_KEY] = raw
        return redirect("api_keys")
    new_key = request.session.pop(NEW_KEY, None)
    return render(
        request,
        "front/keys.html",
        {
            "form": form,
            "keys": _keys_for(request),
            "new_key": new_key,
            "is_admin": request.membership.is_admin,
            "now": timezone.now(),
            "api_base": request.build_absolute_uri("/v1"),
        },
    )


@require_POST
@workspace_required(role=Role.MEMBER)
def revoke_key(request, key_id: int):
    key = get_object_or_404(ApiKey, pk=key_id, workspace=request.workspace)
    if key.user_id != request.user.id and not request.membership.is_admin:
        raise PermissionDenied("Only its owner or a workspace admin can revoke this key.")
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"Revoked {key.name} ({key.prefix}…). It stops working now.")
    return redirect("api_keys")

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError

from studio.accounts.models import Membership, Role, Workspace

User = get_user_model()


class WorkspaceForm(forms.ModelForm):
    class Meta:
        model = Workspace
        fields = ["name"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Workspace.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise ValidationError("A workspace with this name already exists.")
        return name


class AddMemberForm(forms.Form):
    """Add an existing user, or create the account on the spot (no e-mail server needed)."""

    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Only for a new account. Leave empty to add an existing user.",
    )

    def __init__(self, *args, workspace: Workspace, actor: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.actor = actor
        if not actor.has_role(Role.OWNER):
            # Only an owner may make another owner.
            self.fields["role"].choices = [c for c in Role.choices if c[0] != Role.OWNER]

    def clean(self):
        data = super().clean()
        username = (data.get("username") or "").strip()
        if not username:
            return data
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            password = data.get("password")
            if not password:
                self.add_error(
                    "password", f"There is no user {username!r} yet: give a password to create one."
                )
                return data
            candidate = User(username=username)
            try:
                User.username_validator(username)
                password_validation.validate_password(password, candidate)
            except ValidationError as e:
                self.add_error("password" if "password" in str(e).lower() else "username", e)
                return data
        elif Membership.objects.filter(user=user, workspace=self.workspace).exists():
            self.add_error("username", f"{user.username} is already a member of this workspace.")
        elif data.get("password"):
            self.add_error(
                "password",
                f"{user.username} already has an account; leave the password empty to add them.",
            )
        data["user"] = user
        data["username"] = username
        return data

    def save(self) -> Membership:
        user = self.cleaned_data["user"]
        if user is None:
            user = User.objects.create_user(
                self.cleaned_data["username"], password=self.cleaned_data["password"]
            )
        return Membership.objects.create(
            user=user, workspace=self.workspace, role=self.cleaned_data["role"]
        )


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    monthly_limit = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text="Credits this member may spend per calendar month. Empty: no limit.",
    )

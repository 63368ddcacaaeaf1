from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from studio.accounts.models import ApiKey, Membership, Workspace


class Command(BaseCommand):
    help = "Create an API key for a user; the key itself is printed as the last line."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--name", default="created by create_api_key")
        parser.add_argument("--workspace", help="by name; default: the user's first workspace")

    def handle(self, *args, username: str, name: str, workspace: str | None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no user {username!r}.")
        memberships = Membership.objects.filter(user=user).select_related("workspace")
        if workspace:
            memberships = memberships.filter(workspace__name=workspace)
        membership = memberships.order_by("created_at", "id").first()
        if membership is None:
            where = f"the workspace {workspace!r}" if workspace else "any workspace"
            names = ", ".join(
                Workspace.objects.filter(memberships__user=user).values_list("name", flat=True)
            )
            raise CommandError(
                f"{username} is not in {where}" + (f" (only {names})." if names else ".")
            )
        key, raw = ApiKey.create(user=user, workspace=membership.workspace, name=name)
        self.stdout.write(
            f"Created {key.name!r} for {username} in {membership.workspace.name}. "
            "It is shown once; keep it somewhere safe:"
        )
        self.stdout.write(raw)

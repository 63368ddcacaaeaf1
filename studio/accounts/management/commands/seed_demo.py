from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from studio.accounts.models import Membership, Role, Workspace

DEMO_WORKSPACE = "Demo studio"


def _password_file():
    return settings.DATA_DIR / "demo_password"


def _resolve_password() -> tuple[str, bool]:
    """Return (password, explicit). DEMO_PASSWORD wins; else one generated once and kept."""
    if env := os.environ.get("DEMO_PASSWORD"):
        return env, True
    path = _password_file()
    if path.exists():
        return path.read_text().strip(), False
    password = secrets.token_urlsafe(9)
    path.write_text(password)
    path.chmod(0o600)
    return password, False


class Command(BaseCommand):
    help = "Create the demo workspace, the demo user and a staff admin (safe to run again)."

    def handle(self, *args, **options):
        password, explicit = _resolve_password()
        User = get_user_model()
        with transaction.atomic():
            workspace, _ = Workspace.objects.get_or_create(name=DEMO_WORKSPACE)
            lines = []
            for username, staff, role in (("demo", False, Role.OWNER), ("admin", True, Role.ADMIN)):
                user, created = User.objects.get_or_create(
                    username=username, defaults={"is_staff": staff, "is_superuser": staff}
                )
                if created or explicit:
                    user.set_password(password)
                    user.save()
                Membership.objects.get_or_create(
                    user=user, workspace=workspace, defaults={"role": role}
                )
                if user.check_password(password):
                    lines.append(f"  {username:<6} / {password}")
                else:
                    lines.append(
                        f"  {username:<6} / (password changed since; DEMO_PASSWORD resets it)"
                    )
            granted = self._grant_starter_credits(workspace)

        self.stdout.write(f"Workspace {DEMO_WORKSPACE!r} is ready.{granted}")
        self.stdout.write("Sign in with:")
        for line in lines:
            self.stdout.write(line)

    def _grant_starter_credits(self, workspace: Workspace) -> str:
        """Grant the starter pack once, ever: re-running never adds more."""
        from studio.credits import ledger
        from studio.credits.models import Grant, Pack

        pack, _ = Pack.objects.get_or_create(
            name="Starter", defaults={"credits": settings.STARTER_CREDITS, "price_label": "free"}
        )
        if Grant.objects.filter(workspace=workspace, pack=pack).exists():
            return f" Balance: {ledger.balance(workspace)} credits."
        ledger.grant(workspace, pack.credits, pack=pack, note="starter credits")
        return f" Granted {pack.credits} starter credits."

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from studio.accounts.models import Workspace
from studio.credits import ledger
from studio.credits.models import Pack
from studio.errors import StudioError


class Command(BaseCommand):
    help = "Grant credits to a workspace, valid for 365 days (or the pack's validity)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="the workspace's name")
        parser.add_argument("--credits", required=True, help="how many credits, e.g. 500")
        parser.add_argument("--pack", help="the pack these credits belong to (by name)")

    def handle(self, *args, workspace: str, credits: str, pack: str | None, **options):
        ws = Workspace.objects.filter(name=workspace).first()
        if ws is None:
            raise CommandError(f"There is no workspace named {workspace!r}.")
        try:
            amount = Decimal(credits)
        except InvalidOperation:
            raise CommandError(f"--credits must be a number, not {credits!r}.") from None
        if not amount.is_finite() or amount <= 0:
            raise CommandError("--credits must be a positive number.")
        the_pack = None
        if pack:
            the_pack = Pack.objects.filter(name=pack).first()
            if the_pack is None:
                names = ", ".join(Pack.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(f"There is no pack named {pack!r} (packs: {names}).")
        try:
            g = ledger.grant(ws, amount, pack=the_pack, note="granted by grant_credits")
        except StudioError as e:
            raise CommandError(e.message) from None
        self.stdout.write(
            f"Granted {g.credits} credits to {ws.name}, valid until {g.expires_at:%Y-%m-%d}."
        )
        self.stdout.write(f"Balance: {ledger.balance(ws)}")

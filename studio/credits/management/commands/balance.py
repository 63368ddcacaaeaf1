from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from studio.accounts.models import Workspace
from studio.credits import ledger


class Command(BaseCommand):
    help = "Print a workspace's spendable credits (its last line: the balance, two decimals)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="the workspace's name")

    def handle(self, *args, workspace: str, **options):
        ws = Workspace.objects.filter(name=workspace).first()
        if ws is None:
            raise CommandError(f"There is no workspace named {workspace!r}.")
        for line in ledger.breakdown(ws):
            self.stdout.write(f"  {line.remaining:>10} expire on {line.expires_at:%Y-%m-%d}")
        held = ledger.held(ws)
        if held:
            self.stdout.write(f"  {held:>10} held by running jobs (not included)")
        self.stdout.write(f"{ledger.balance(ws)}")

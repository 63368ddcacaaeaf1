from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from studio.catalog.quote import quote
from studio.errors import StudioError, invalid


class Command(BaseCommand):
    help = (
        "Price a request exactly as a submit would. Prints one JSON line: the quote (exit 0) "
        'or {"error": {...}} (exit 1).'
    )

    def add_arguments(self, parser):
        parser.add_argument("request", help='JSON, e.g. \'{"model": "veo", "duration": 5}\'')

    def handle(self, *args, request: str, **options):
        try:
            try:
                body = json.loads(request)
            except json.JSONDecodeError as e:
                raise invalid(f"The request is not valid JSON: {e.msg} (at {e.pos}).") from None
            result = {k: v for k, v in quote(body).to_dict().items() if v is not None}
        except StudioError as e:
            self.stdout.write(json.dumps({"error": e.to_dict()}))
            sys.exit(1)
        self.stdout.write(json.dumps(result))

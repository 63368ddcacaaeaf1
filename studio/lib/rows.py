"""Conditional updates: how every state machine here moves a row."""

from __future__ import annotations

from django.db import models


def update_if(instance: models.Model, rows: models.QuerySet, **changes) -> bool:
    """Apply `changes` to `rows` — `instance`'s row, filtered on the state the caller expects
    — and return True when that changed it (the caller won the race). The plain values are
    then set on `instance` too; expressions such as F("n") + 1 are left to the caller."""
    won = rows.update(**changes) == 1
    if won:
        for name, value in changes.items():
            if not hasattr(value, "resolve_expression"):
                setattr(instance, name, value)
    return won

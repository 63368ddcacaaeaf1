"""No transaction stays open across slow work (DESIGN invariant 7).

On SQLite a write transaction holds the database's only write lock, so one request decoding
uploads or waiting on a slow URL inside `transaction.atomic()` stalls every workspace. Code
that does slow I/O — decoding images, downloads, provider calls, ffmpeg, storage writes,
sleeps — calls `outside_transaction(...)` first. With STUDIO_IO_GUARD on (the test suite turns
it on) a call inside an atomic block raises, so the rule can't quietly break again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections


class TransactionOpen(AssertionError):
    """Slow work was started while a transaction was open."""


def open_transactions() -> list[str]:
    """Return the aliases of the connections (of this thread) with an atomic block open.

    The test case's own wrapping blocks don't count: Django marks them `_from_testcase`, as
    it does for durable blocks, and a test's database otherwise behaves as in production.
    """
    return [
        conn.alias
        for conn in connections.all(initialized_only=True)
        if any(not getattr(block, "_from_testcase", False) for block in conn.atomic_blocks)
    ]


def outside_transaction(doing: str) -> None:
    """Raise TransactionOpen when STUDIO_IO_GUARD is on and a transaction is open here."""
    if settings.STUDIO_IO_GUARD and (aliases := open_transactions()):
        raise TransactionOpen(
            f"{doing} inside a transaction on {', '.join(aliases)}: do it before the "
            "transaction starts or after it ends."
        )

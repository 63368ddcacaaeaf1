"""django-q2 entry points for credits (scheduled daily by a migration)."""

from __future__ import annotations

import logging

from studio.credits import ledger

log = logging.getLogger(__name__)


def expire_grants() -> int:
    """Write off every expired pack's remainder; return how many were written off."""
    count = ledger.expire_grants()
    if count:
        log.info("wrote off %d expired grants", count)
    return count

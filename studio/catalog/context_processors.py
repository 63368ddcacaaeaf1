from __future__ import annotations

from studio.catalog import tables


def limits(request) -> dict:
    """The contract's limits that forms show (a prompt's maxlength), from the catalog."""
    return {"PROMPT_MAX_LENGTH": tables.PROMPT_MAX_LENGTH}

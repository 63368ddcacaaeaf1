"""Signed, expiring media URLs, on django.core.signing.

A media URL names an asset's file or thumbnail and an expiry, and carries a signature of the
three under its own salt (a signature made for sessions or anything else is never a valid
media signature). Verifying tries SECRET_KEY and then SECRET_KEY_FALLBACKS, so rotating the
key doesn't break the links already handed out.
"""

from __future__ import annotations

import math
import time

from django.core import signing

SALT = "studio.media-url"
VARIANTS = ("file", "thumb")
# The scope of a URL made for the provider to fetch an input (media.public_url): it serves a
# private asset without a signed-in session. Page URLs have no scope.
PROVIDER = "provider"


def _value(uid: str, variant: str, expires: int, scope: str) -> str:
    return f"{uid}:{variant}:{expires}" + (f":{scope}" if scope else "")


def sign(
    uid: str, variant: str, ttl: int, now: float | None = None, scope: str = ""
) -> tuple[int, str]:
    """Return (expires, signature) for a URL valid for at least `ttl` seconds.

    The expiry is rounded up to the hour, so a page reloaded within the hour asks for the
    same URL and the browser's cache answers.
    """
    expires = int(math.ceil(((now or time.time()) + ttl) / 3600) * 3600)
    return expires, signing.Signer(salt=SALT).signature(_value(uid, variant, expires, scope))


def verify(
    uid: str,
    variant: str,
    expires: str | None,
    signature: str | None,
    now: float | None = None,
    scope: str = "",
) -> bool:
    """Return True when `signature` signs this uid, variant, expiry (which hasn't passed) and
    scope."""
    try:
        expires_at = int(expires or "")
    except ValueError:
        return False
    if expires_at < (now or time.time()) or variant not in VARIANTS or not signature:
        return False
    signer = signing.Signer(salt=SALT)
    try:
        signer.unsign(f"{_value(uid, variant, expires_at, scope)}{signer.sep}{signature}")
    except signing.BadSignature:
        return False
    return True

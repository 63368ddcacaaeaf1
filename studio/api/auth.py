"""Bearer keys and the per-key rate limit."""

from __future__ import annotations

import math
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from studio.accounts.models import ApiKey, Membership
from studio.api.http import ApiError
from studio.api.models import RateBucket
from studio.errors import ErrorType

LAST_USED_EVERY = timedelta(seconds=60)


def _bearer(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def take_token(api_key: ApiKey, now=None) -> float | None:
    """Take one request token from the key's bucket; return None, or the seconds to wait.

    A bucket holds API_RATE_BURST tokens and refills at API_RATE_LIMIT per minute. The row
    lock (IMMEDIATE on SQLite) makes concurrent requests take tokens one at a time.
    """
    now = now or timezone.now()
    rate = settings.API_RATE_LIMIT / 60.0
    burst = float(settings.API_RATE_BURST)
    with transaction.atomic():
        bucket, created = RateBucket.objects.select_for_update().get_or_create(
            api_key=api_key, defaults={"tokens": burst, "updated_at": now}
        )
        elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
        tokens = min(burst, bucket.tokens + elapsed * rate)
        if tokens < 1:
            RateBucket.objects.filter(pk=bucket.pk).update(tokens=tokens, updated_at=now)
            return (1 - tokens) / rate
        RateBucket.objects.filter(pk=bucket.pk).update(tokens=tokens - 1, updated_at=now)
    return None


def api_view(view=None, *, require=None):
    """Authenticate the bearer key, apply its rate limit, and set request.api_key,
    request.user, request.workspace and request.membership — the key's owner's membership
    as it is now, so the role checks (`require`, a rule of accounts.permissions taking the
    membership, and those the view makes) use the current role on every request."""
    if view is None:
        return lambda view: api_view(view, require=require)

    @csrf_exempt
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        now = timezone.now()
        token = _bearer(request)
        if not token:
            raise ApiError(
                "Send your API key as Authorization: Bearer <key>.", code=ErrorType.UNAUTHORIZED
            )
        key = ApiKey.objects.for_token(token, now)
        if key is None:
            raise ApiError(
                "This API key is not valid: it may be mistyped, revoked or expired.",
                code=ErrorType.UNAUTHORIZED,
            )
        membership = Membership.objects.filter(user=key.user, workspace=key.workspace).first()
        if membership is None:
            raise ApiError(
                "This key's owner is no longer in its workspace.", code=ErrorType.UNAUTHORIZED
            )
        wait = take_token(key, now)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                f"Too many requests for this key; try again in {seconds} s.",
                code=ErrorType.RATE_LIMITED,
                headers={"Retry-After": str(seconds)},
            )
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        request.api_key, request.user = key, key.user
        request.workspace, request.membership = key.workspace, membership
        if require is not None:
            require(membership)
        return view(request, *args, **kwargs)

    return wrapped

"""/healthz: is this studio able to do its work? The database, the cache and a live worker.

200 "ok" when all three are fine; otherwise 503 with one line per problem, e.g.
"worker: no heartbeat for 75 s". A web process with no worker behind it is unhealthy: pages
load, but nothing anyone asks for would ever be made.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from studio.ops import heartbeat


def problems() -> list[str]:
    """What is wrong, one short sentence each; empty when healthy."""
    found = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as e:  # any database failure means "not healthy"
        found.append(f"database: unavailable ({type(e).__name__})")
    try:
        age = heartbeat.age()
    except Exception as e:  # the cache is down, so is the worker's way to say it's alive
        found.append(f"cache: unavailable ({type(e).__name__})")
    else:
        if age is None:
            found.append("worker: no heartbeat yet (is `manage.py qcluster` running?)")
        elif age > settings.WORKER_HEARTBEAT_MAX_AGE:
            found.append(f"worker: no heartbeat for {age:.0f} s")
    return found

"""The worker's heartbeat: proof for /healthz that some `qcluster` is alive.

Every worker process of every cluster starts a thread (on django-q2's post_spawn signal) that
writes the time into the shared cache every `interval()` seconds; /healthz and /metrics read
how old the newest beat is. A thread of its own, not a scheduled task: a busy queue must not
look like a dead worker, and django-q2's schedules fire at most once a minute.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections

log = logging.getLogger(__name__)

KEY = "studio:worker-heartbeat"


def interval() -> float:
    """Seconds between beats: a few beats fit in WORKER_HEARTBEAT_MAX_AGE, at most every 10 s."""
    return min(10.0, settings.WORKER_HEARTBEAT_MAX_AGE / 3)


def beat(now: float | None = None) -> None:
    # No expiry: /healthz says how long ago the last worker beat, however long that is.
    cache.set(KEY, {"at": now or time.time(), "host": socket.gethostname()}, timeout=None)


def age(now: float | None = None) -> float | None:
    """Seconds since the newest beat of any worker; None when none ever beat. Raise what the
    cache raises when it is unreachable."""
    last = cache.get(KEY)
    if not last:
        return None
    return max(0.0, (now or time.time()) - last["at"])


def start(**signal_kwargs) -> None:
    """Start this worker process's heartbeat thread (a post_spawn receiver)."""
    threading.Thread(target=_beat_forever, name="studio-heartbeat", daemon=True).start()


def _beat_forever() -> None:
    failing = False
    while True:
        try:
            close_old_connections()
            beat()
            failing = False
        except Exception:
            if not failing:  # once per outage, not every few seconds
                log.exception("the worker heartbeat could not be written")
            failing = True
        time.sleep(interval())

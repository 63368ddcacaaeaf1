"""django-q2's two brokers, made patient through an outage of their server.

When its broker raises, django-q2's pusher logs a traceback, sleeps 10 s and exits for the
sentinel to start another, and a cluster told to stop waits out that sleep: a worker whose
database or Redis was gone took 10 s or more to honour SIGTERM. These brokers wait out an
outage a second at a time instead, saying so once, so a stopping pusher notices within about a
second. Settings pick one (Q_CLUSTER["broker_class"]).
"""

from __future__ import annotations

import logging
import time

from django_q.brokers.orm import ORM as OrmBroker
from django_q.brokers.redis_broker import Redis as RedisBroker

logger = logging.getLogger(__name__)
OUTAGE_PAUSE = 1.0  # seconds between tries while the broker's server is unreachable


class PatientDequeue:
    _down = False

    def dequeue(self):
        """Return the broker's tasks, or None (after a pause) while its server is down."""
        try:
            tasks = super().dequeue()
        except Exception as e:  # whatever the client raises for a server that is gone
            if not self._down:
                self._down = True
                logger.error(
                    "The task broker is unreachable, trying every second: %s", e, exc_info=True
                )
            time.sleep(OUTAGE_PAUSE)
            return None
        if self._down:
            self._down = False
            logger.warning("The task broker is back.")
        return tasks


class ORM(PatientDequeue, OrmBroker):
    """The database as broker (no REDIS_URL)."""


class Redis(PatientDequeue, RedisBroker):
    """Redis as broker (REDIS_URL)."""

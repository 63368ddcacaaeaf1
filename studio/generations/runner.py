"""The job pipeline's entry points, gathered: how a Job goes from a form or a /v1 call to
settled credits. Each concern has its own module:

- submitting: `submit` prices the request, creates the Job and reserves its credits in one
  short transaction, and queues it (or leaves it to a sync request to run); `retry`.
- running: `run_job` (the worker's task) and `run_in_request` (a sync /v1 call) claim the
  job, do the slow work with no transaction open, then settle it; `cancel`.
- outputs: copying outputs into our storage and checking them — what was delivered.
- polling: `pump` follows in-flight videos; `nudge` restarts it when nobody polls.
- recovering: `recover` mends what dead workers and lost messages left behind.
- models.Job: the state machine itself, one conditional UPDATE per transition.
- failures: the sentences for why a job failed, rendered when shown.

`tick` is the minute schedule. The rest of the studio imports from here; docs/jobs.md tells
the whole story with the failure cases.
"""

from __future__ import annotations

from studio.generations.polling import ensure_pump, nudge, poll_due, poll_job, pump
from studio.generations.recovering import recover
from studio.generations.running import cancel, run_in_request, run_job, wait
from studio.generations.submitting import enqueue, retry, submit

__all__ = [
    "cancel",
    "enqueue",
    "ensure_pump",
    "nudge",
    "poll_due",
    "poll_job",
    "pump",
    "recover",
    "retry",
    "run_in_request",
    "run_job",
    "submit",
    "tick",
    "wait",
]


def tick() -> str:
    """The minute schedule: recover, and make sure in-flight videos are being polled."""
    moved = recover()
    started = ensure_pump()
    return f"recovered {moved}, poller {'started' if started else 'running or idle'}"

"""What one poller sweep costs with hundreds of videos in flight.

    .venv/bin/python bench/bench_poller.py

N video jobs wait on local render tasks that are still running (fresh heartbeats), as if
N videos were being made at once. A sweep claims every due job, asks the provider about it
and schedules its next poll: the work the poller repeats every few seconds.
"""

from __future__ import annotations

import time
from datetime import timedelta

from _scratch import setup

setup()

from django.utils import timezone  # noqa: E402

from studio.accounts.models import Workspace  # noqa: E402
from studio.catalog.quote import quote  # noqa: E402
from studio.generations import runner  # noqa: E402
from studio.generations.models import Job  # noqa: E402
from studio.providers.models import LocalTask  # noqa: E402

WS = Workspace.objects.get(name="Demo studio")
USER = WS.memberships.get(role="owner").user
Q = quote({"model": "veo", "duration": 5})


def in_flight(n: int) -> None:
    now = timezone.now()
    tasks = LocalTask.objects.bulk_create(
        LocalTask(
            id=f"task_bench{i:05d}",
            request={},
            status="processing",
            progress=40,
            heartbeat_at=now + timedelta(hours=1),
            created_at=now,
        )
        for i in range(n)
    )
    Job.objects.bulk_create(
        Job(
            workspace=WS,
            user=USER,
            kind="animate",
            endpoint=Q.endpoint,
            model=Q.model,
            prompt="bench",
            quote=Q.to_dict(),
            credits_quoted=Q.credits,
            provider="local",
            status="processing",
            provider_task_id=t.id,
            next_poll_at=now,
            deadline_at=now + timedelta(hours=1),
        )
        for t in tasks
    )


def sweep(n: int) -> float:
    Job.objects.all().delete()
    LocalTask.objects.all().delete()
    in_flight(n)
    start = time.perf_counter()
    polled = 0
    while polled < n:
        polled += runner.poll_due(timezone.now() + timedelta(seconds=1))
    return time.perf_counter() - start


if __name__ == "__main__":
    print("| videos in flight | one sweep (s) | polls/s |")
    print("|---:|---:|---:|")
    for n in (100, 300, 600):
        seconds = sweep(n)
        print(f"| {n} | {seconds:.2f} | {n / seconds:.0f} |")

"""How fast credits move: reserve + capture pairs on SQLite, one thread and eight.

    .venv/bin/python bench/bench_ledger.py

Each pair is what one job costs the ledger (a reservation drawn from the first-to-expire
grant, then its settlement). Eight threads contend for the same workspace, the worst case:
SQLite's IMMEDIATE transactions serialise them.
"""

from __future__ import annotations

import threading
import time

from _scratch import setup

setup()

from django.db import close_old_connections, connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from studio.accounts.models import Workspace  # noqa: E402
from studio.catalog.quote import quote  # noqa: E402
from studio.credits import ledger  # noqa: E402
from studio.generations.models import Job  # noqa: E402

WS = Workspace.objects.get(name="Demo studio")
USER = WS.memberships.get(role="owner").user
Q = quote({"model": "gpt-image-2", "quality": "medium"})
for days in range(0, 300, 30):  # ten packs, so FIFO has choices
    ledger.grant(WS, 100_000, now=timezone.now() - timezone.timedelta(days=days))


def one_job() -> None:
    job = Job.objects.create(
        workspace=WS,
        user=USER,
        kind="generate",
        endpoint=Q.endpoint,
        model=Q.model,
        prompt="bench",
        quote=Q.to_dict(),
        credits_quoted=Q.credits,
        provider="local",
        deadline_at=timezone.now(),
    )
    ledger.reserve(WS, USER, job, Q)
    ledger.capture(job, Q.credits)


def run(threads: int, per_thread: int) -> float:
    def work():
        close_old_connections()
        try:
            for _ in range(per_thread):
                one_job()
        finally:
            connection.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return threads * per_thread / (time.perf_counter() - start)


if __name__ == "__main__":
    run(1, 20)  # warm up
    serial = run(1, 300)
    contended = run(8, 60)
    assert ledger.balance(WS) == WS.ledger.aggregate(total=Sum("delta"))["total"]
    print("| ledger | jobs/s |")
    print("|---|---:|")
    print(f"| reserve + capture, 1 thread | {serial:.0f} |")
    print(f"| reserve + capture, 8 threads on one workspace | {contended:.0f} |")

"""How fast the operator's pages answer with many jobs: the staff dashboard and /metrics.

    .venv/bin/python bench/bench_ops.py [--jobs 100000]

Fills a throwaway SQLite studio with `--jobs` jobs over 30 days (every status, eight models,
a reservation and, once ended, a settlement each; 200 workspaces with members on monthly
limits), then times each page through Django's test client, median of 7, with its query
count. The baseline is the admin's own job list, which counts the same table to page it.
"""

from __future__ import annotations

import argparse
import atexit
import random
import shutil
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from _scratch import setup

atexit.register(shutil.rmtree, setup(), ignore_errors=True)  # 70 MB of throwaway studio

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from studio.accounts.models import Membership, Workspace  # noqa: E402
from studio.credits import ledger  # noqa: E402
from studio.credits.models import Reservation, Settlement  # noqa: E402
from studio.generations.models import Job  # noqa: E402

MODELS = [
    "gpt-image-2",
    "gemini-2.5-flash-image",
    "gemini-3.1-flash-image-preview",
    "gemini-3-pro-image-preview",
    "veo",
    "kling",
    "wan",
    "gpt-image-2-mini",
]
STATUSES = ["completed"] * 80 + ["failed"] * 12 + ["cancelled"] * 4 + ["queued", "processing"] * 2
TOKEN = "bench"


def fill(jobs: int) -> None:
    rng = random.Random(15)
    User = get_user_model()
    now = timezone.now()
    workspaces, users = [], []
    for i in range(200):
        ws = Workspace.objects.create(name=f"Team {i}")
        user = User.objects.create_user(f"member{i}")
        Membership.objects.create(
            user=user, workspace=ws, role="owner", monthly_limit=Decimal(rng.choice([50, 500]))
        )
        ledger.grant(ws, rng.choice([20, 5000]))
        workspaces.append(ws)
        users.append(user)
    batch = 5000
    for start in range(0, jobs, batch):
        rows = []
        for _ in range(min(batch, jobs - start)):
            i = rng.randrange(200)
            created = now - timedelta(seconds=rng.uniform(0, 30 * 86400))
            status = rng.choice(STATUSES)
            final = status in ("completed", "failed", "cancelled")
            took = timedelta(seconds=rng.uniform(2, 900))
            rows.append(
                Job(
                    workspace=workspaces[i],
                    user=users[i],
                    kind="generate",
                    endpoint="images.generations",
                    model=rng.choice(MODELS),
                    prompt="bench",
                    credits_quoted=Decimal(4),
                    provider="local",
                    status=status,
                    created_at=created,
                    finished_at=created + took if final else None,
                    deadline_at=created + timedelta(minutes=15),
                )
            )
        with transaction.atomic():
            made = Job.objects.bulk_create(rows)
            reservations = Reservation.objects.bulk_create(
                Reservation(
                    job=job,
                    workspace_id=job.workspace_id,
                    user_id=job.user_id,
                    amount=Decimal(4),
                    created_at=job.created_at,
                )
                for job in made
            )
            Settlement.objects.bulk_create(
                Settlement(
                    reservation=r,
                    captured=Decimal(4) if job.status == "completed" else Decimal(0),
                    released=Decimal(0) if job.status == "completed" else Decimal(4),
                    reason=job.status,
                    created_at=job.finished_at,
                )
                for r, job in zip(reservations, made, strict=True)
                if job.finished_at
            )


def timed(client: Client, path: str, **headers) -> tuple[float, int]:
    """Median milliseconds of 7 requests (after one warm-up), and the queries of one."""
    assert client.get(path, **headers).status_code == 200, path
    times = []
    for _ in range(7):
        started = time.perf_counter()
        client.get(path, **headers)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        client.get(path, **headers)
    return statistics.median(times), len(captured)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    jobs = parser.parse_args().jobs
    started = time.perf_counter()
    fill(jobs)
    filled = time.perf_counter() - started
    staff = get_user_model().objects.create_superuser("bench-staff", password="x-long-pass-1")
    client = Client()
    client.force_login(staff)
    with override_settings(METRICS_TOKEN=TOKEN):
        rows = [
            ("admin job list (baseline)", *timed(client, "/admin/generations/job/")),
            ("staff dashboard", *timed(client, "/admin/dashboard/")),
            ("/metrics", *timed(client, "/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")),
        ]
    print(f"{jobs:,} jobs, 200 workspaces (filled in {filled:.0f} s)\n")
    print("| page | ms (median of 7) | queries |")
    print("|---|---:|---:|")
    for name, ms, queries in rows:
        print(f"| {name} | {ms:.0f} | {queries} |")

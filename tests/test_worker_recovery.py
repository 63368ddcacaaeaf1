"""Real django-q2 workers: killed mid-video, restarted, and two side by side."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from studio.credits import ledger
from studio.credits.models import LedgerEntry, Settlement
from studio.generations import runner
from studio.generations.models import Asset, Job
from studio.providers.models import LocalTask
from tests.conftest import Worker
from tests.factories import ledger_total

pytestmark = [pytest.mark.slow, pytest.mark.servers]
D = Decimal


def wait_until(predicate, timeout: float, every: float = 0.5, on_wait=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if on_wait:
            on_wait()
        time.sleep(every)
    return False


def video(workspace, user, duration=10, size="1280x720", prompt="waves at dusk"):
    return runner.submit(
        workspace=workspace,
        user=user,
        kind="animate",
        request={"model": "veo", "duration": duration, "size": size},
        prompt=prompt,
    )


def test_a_worker_killed_mid_video_finishes_it_after_a_restart_with_one_charge(
    alpha, alice, worker
):
    ledger.grant(alpha, 100)
    job = video(alpha, alice)

    def rendering():
        job.refresh_from_db()
        task = LocalTask.objects.filter(pk=job.provider_task_id).first()
        return task is not None and 10 <= task.progress < 90

    assert wait_until(rendering, 30), "the render never got going"
    worker.kill()  # the whole cluster, mid-render, like a machine losing power
    progress_at_kill = LocalTask.objects.get(pk=job.provider_task_id).progress
    job.refresh_from_db()
    assert job.status == "processing"

    restarted = Worker(worker.env, worker.log_path).start()
    try:
        # Someone watching the job (the studio's card, GET /v1/tasks/{id}) nudges the poller.
        def watch():
            runner.nudge(Job.objects.get(pk=job.pk))

        # Killed in the middle of a poll, the job stays claimed for runner.POLL_CLAIM (120 s)
        # before the next poller may take it: allow for that, and for a loaded machine.
        assert wait_until(lambda: Job.objects.get(pk=job.pk).is_final, 200, on_wait=watch), (
            worker.log_path.read_text()[-3000:]
        )
    finally:
        restarted.stop()
    job.refresh_from_db()
    assert job.status == "completed", job.failure
    task = LocalTask.objects.get(pk=job.provider_task_id)
    assert task.attempt >= 2 and progress_at_kill < 100
    assert job.assets.count() == 1
    assert job.assets.get().duration == pytest.approx(10, abs=0.05)
    settlements = Settlement.objects.filter(reservation__job=job)
    assert [(s.captured, s.released) for s in settlements] == [(D("10.00"), D("0.00"))]
    assert LedgerEntry.objects.filter(job=job, kind="capture").count() == 1
    assert ledger.balance(alpha) == ledger_total(alpha) == D("90.00")


def test_two_workers_side_by_side_finish_every_job_once(alpha, alice, worker):
    ledger.grant(alpha, 200)
    second = Worker(worker.env, worker.log_path).start()
    try:
        jobs = [
            video(alpha, alice, duration=2, size="320x180", prompt=f"clip {i}") for i in range(4)
        ]
        jobs += [
            runner.submit(
                workspace=alpha,
                user=alice,
                kind="generate",
                request={"model": "nano-banana", "size": "512"},
                prompt=f"image {i}",
            )
            for i in range(6)
        ]
        ids = [j.pk for j in jobs]

        def all_done():
            for j in Job.objects.filter(pk__in=ids, status="processing"):
                runner.nudge(j)
            return (
                not Job.objects.filter(pk__in=ids)
                .exclude(status__in=("completed", "failed"))
                .exists()
            )

        assert wait_until(all_done, 120), worker.log_path.read_text()[-3000:]
    finally:
        second.stop()
    assert set(Job.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"completed"}
    assert Settlement.objects.filter(reservation__job__in=ids).count() == 10
    for job in Job.objects.filter(pk__in=ids):
        assert Asset.objects.filter(job=job).count() == 1
        assert LedgerEntry.objects.filter(job=job, kind="capture").count() == 1
    # 4 videos × 2 s × 1 credit + 6 images × 2 credits
    assert ledger.balance(alpha) == ledger_total(alpha) == D("200") - D("8") - D("12")

"""The job pipeline's invariants (DESIGN.md), with the real local renderer.

Each terminal transition happens once; credits are captured or released exactly once;
outputs are in our storage before a job completes; crashed workers and lost messages are
mended; a job that never ends times out and costs nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from studio.credits import ledger
from studio.credits.models import Reservation, Settlement
from studio.errors import StudioError
from studio.generations import runner, running
from studio.generations.models import Asset, Job, Lease
from studio.providers.local import render_video_task
from studio.providers.models import LocalTask

D = Decimal


@pytest.fixture
def funded(alpha):
    ledger.grant(alpha, 100)
    return alpha


def submit(workspace, user, kind="generate", **request):
    request = request or {"model": "nano-banana", "size": "512"}
    return runner.submit(
        workspace=workspace, user=user, kind=kind, request=request, prompt="a red bicycle"
    )


def video_job(workspace, user):
    """A short, small Veo job: 1 s at 320x180 (1 credit)."""
    return runner.submit(
        workspace=workspace,
        user=user,
        kind="animate",
        prompt="waves",
        request={"model": "veo", "duration": 1, "size": "320x180"},
    )


def queued_tasks() -> list[tuple[str, tuple]]:
    """What waits in django-q2's ORM queue: (function, args) of every task."""
    from django_q.models import OrmQ

    return [(q.task["func"], tuple(q.task["args"])) for q in OrmQ.objects.order_by("id")]


def settled(job) -> Settlement:
    return Reservation.objects.get(job=job).settlement


def test_a_generation_runs_stores_its_images_and_captures(funded, alice):
    job = submit(funded, alice, n=2, model="gpt-image-2", quality="low")
    assert job.status == "queued" and ledger.balance(funded) == D("98.00")
    assert runner.run_job(job.pk) == "completed"
    job.refresh_from_db()
    assets = list(job.assets.all())
    assert len(assets) == 2
    for asset in assets:
        assert asset.file.name.startswith(f"assets/{funded.id}/")
        assert default_storage.exists(asset.file.name)
        assert default_storage.exists(asset.thumbnail.name)
        assert (asset.width, asset.height, asset.made_by, asset.user) == (
            1024,
            1024,
            "generate",
            alice,
        )
    assert settled(job).captured == D("2.00")
    assert ledger.balance(funded) == D("98.00")


@pytest.mark.servers
def test_running_a_job_twice_changes_nothing(funded, alice):
    job = submit(funded, alice)
    assert runner.run_job(job.pk) == "completed"
    assert runner.run_job(job.pk) == "not queued"
    assert Asset.objects.count() == 1
    assert Settlement.objects.count() == 1


@pytest.mark.servers
def test_a_terminal_transition_happens_once(funded, alice):
    job = submit(funded, alice)
    assert runner.cancel(job) is True
    assert job.fail("late", now=timezone.now()) is False
    assert job.cancel() is False
    assert runner.cancel(job) is False
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("cancelled", "cancelled")
    assert settled(job).released == D("2.00")
    assert runner.run_job(job.pk) == "not queued"
    assert ledger.balance(funded) == D("100.00")


@pytest.mark.servers
def test_a_late_completion_loses_and_deletes_its_files(funded, alice):
    """A worker that finishes after the job was failed elsewhere must not revive it."""
    job = submit(funded, alice)
    runner.run_job(job.pk)  # completes normally
    from studio.generations import media
    from tests.test_api import png

    stored = media.store_image(png(), workspace_id=funded.id)
    job.refresh_from_db()
    assert job.complete([stored], 1, timezone.now()) is False
    assert not default_storage.exists(stored.name)
    assert Asset.objects.count() == 1


def test_a_provider_failure_fails_the_job_and_releases_everything(funded, alice, settings):
    settings.LOCAL_PROVIDER_FAIL_RATE = 1.0
    job = submit(funded, alice)
    assert runner.run_job(job.pk) == "failed"
    job.refresh_from_db()
    assert job.error_code == "model_unavailable" and job.error_params["retry"] is True
    assert settled(job).captured == D("0.00")
    assert ledger.balance(funded) == D("100.00")
    assert not Asset.objects.exists()


def test_retry_makes_a_new_job_with_the_same_request(funded, alice, settings):
    settings.LOCAL_PROVIDER_FAIL_RATE = 1.0
    job = submit(funded, alice)
    runner.run_job(job.pk)
    settings.LOCAL_PROVIDER_FAIL_RATE = 0.0
    again = runner.retry(Job.objects.get(pk=job.pk), alice)
    assert again.retry_of_id == job.pk and again.params == job.params
    assert runner.run_job(again.pk) == "completed"


def test_a_refused_submit_leaves_nothing_behind(alpha, alice):
    ledger.grant(alpha, 1)
    with pytest.raises(ledger.InsufficientCredits):
        submit(alpha, alice)
    with pytest.raises(StudioError, match="Write a prompt"):
        runner.submit(
            workspace=alpha,
            user=alice,
            kind="generate",
            request={"model": "nano-banana"},
            prompt="  ",
        )
    assert not Job.objects.exists() and not Reservation.objects.exists()


def render_and_poll(job) -> Job:
    """What the worker and the poller do for a video, step by step."""
    assert runner.run_job(job.pk) == "processing"
    job.refresh_from_db()
    assert job.provider_task_id and job.next_poll_at
    render_video_task(job.provider_task_id)
    runner.poll_job(job.pk)
    job.refresh_from_db()
    return job


def test_a_video_is_submitted_polled_and_charged_per_second(funded, alice):
    image = submit(funded, alice)
    runner.run_job(image.pk)
    job = runner.submit(
        workspace=funded,
        user=alice,
        kind="animate",
        request={"model": "kling", "duration": 2, "size": "640x360"},
        prompt="waves",
        source_asset=image.assets.get(),
    )
    job = render_and_poll(job)
    assert job.status == "completed"
    video = job.assets.get()
    assert (video.kind, video.width, video.height, video.duration) == ("video", 640, 360, 2.0)
    assert video.parent == image.assets.get()
    assert settled(job).captured == D("4.48")
    assert default_storage.exists(video.thumbnail.name)


def test_a_video_still_rendering_reports_progress_and_is_polled_again(funded, alice):
    job = video_job(funded, alice)
    runner.run_job(job.pk)
    job.refresh_from_db()
    before = job.next_poll_at
    runner.poll_job(job.pk, now=job.next_poll_at)
    job.refresh_from_db()
    assert job.status == "processing" and job.polls == 1 and job.next_poll_at > before


@pytest.mark.servers
@pytest.mark.django_db(transaction=True)  # the poller's threads have their own connections
def test_two_pollers_never_poll_the_same_job(funded, alice):
    import threading

    from django.db import connection

    jobs = [video_job(funded, alice) for _ in range(3)]
    for job in jobs:
        runner.run_job(job.pk)
    ids = [j.pk for j in jobs]
    Job.objects.filter(pk__in=ids).update(next_poll_at=timezone.now() - timedelta(seconds=1))
    at, polled = timezone.now(), []

    def poller():
        try:
            polled.append(runner.poll_due(at))
        finally:
            connection.close()

    pollers = [threading.Thread(target=poller) for _ in range(2)]
    for t in pollers:
        t.start()
    for t in pollers:
        t.join()
    assert sorted(polled) in ([0, 3], [1, 2])  # shared out, never doubled
    assert list(Job.objects.filter(pk__in=ids).values_list("polls", flat=True)) == [1, 1, 1]


def test_a_job_past_its_deadline_times_out_and_costs_nothing(funded, alice):
    job = video_job(funded, alice)
    runner.run_job(job.pk)
    assert runner.recover(timezone.now() + timedelta(minutes=16)) == 1
    job.refresh_from_db()
    assert job.status == "failed" and job.error_code == "timeout"
    assert job.error_params == {"model": "veo", "minutes": 15}
    assert ledger.balance(funded) == D("100.00")


def test_a_worker_that_died_during_an_image_call_is_run_again(funded, alice):
    """Local renders are safe to repeat: a dead worker's image job goes back in the queue."""
    job = submit(funded, alice)
    Job.objects.filter(pk=job.pk).update(
        status="processing", attempts=1, lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert runner.recover() == 1
    job.refresh_from_db()
    assert job.status == "queued"
    assert runner.run_job(job.pk) == "completed"
    assert settled(job).captured == D("2.00")


def test_a_pixapi_job_whose_worker_died_is_failed_not_repeated(funded, alice):
    """A POST upstream may have been accepted; repeating it could charge twice upstream."""
    job = submit(funded, alice)
    Job.objects.filter(pk=job.pk).update(
        status="processing",
        provider="pixapi",
        attempts=1,
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    runner.recover()
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "worker_lost")
    assert ledger.balance(funded) == D("100.00")


def test_a_crash_looping_job_is_failed_after_three_runs(funded, alice):
    job = submit(funded, alice)
    Job.objects.filter(pk=job.pk).update(
        status="processing", attempts=3, lease_until=timezone.now() - timedelta(seconds=1)
    )
    runner.recover()
    assert Job.objects.get(pk=job.pk).status == "failed"


def test_a_lost_queue_message_is_sent_again(funded, alice):
    from django_q.models import OrmQ

    job = submit(funded, alice)
    OrmQ.objects.all().delete()  # the broker lost it
    assert runner.recover() == 0  # not presumed lost yet
    later = timezone.now() + timedelta(minutes=2)
    assert runner.recover(later) == 1
    assert queued_tasks() == [("studio.generations.running.run_job", (job.pk,))]
    assert runner.recover(later) == 0  # once per window
    assert Job.objects.get(pk=job.pk).status == "queued"


@pytest.mark.servers
def test_one_poller_at_a_time(db):
    assert Lease.acquire("poller", "a", 15)
    assert not Lease.acquire("poller", "b", 15)
    assert Lease.acquire("poller", "a", 15)  # renewing is fine
    Lease.release("poller", "a")
    assert Lease.acquire("poller", "b", 15)
    later = timezone.now() + timedelta(seconds=16)
    assert Lease.acquire("poller", "a", 15, now=later)  # b died: its lease ran out


def test_reading_an_overdue_job_starts_a_poller(funded, alice):
    from django_q.models import OrmQ

    job = video_job(funded, alice)
    runner.run_job(job.pk)
    OrmQ.objects.all().delete()
    job.refresh_from_db()
    runner.nudge(job)
    assert queued_tasks() == []  # its poll is not overdue
    runner.nudge(job, timezone.now() + timedelta(seconds=30))
    assert queued_tasks() == [("studio.generations.polling.pump", ())]
    assert Lease.acquire("poller", "someone", 60)
    runner.nudge(job, timezone.now() + timedelta(seconds=30))
    assert len(queued_tasks()) == 1  # a live poller is left alone


def test_the_pump_finishes_in_flight_videos(funded, alice):
    job = video_job(funded, alice)
    runner.run_job(job.pk)  # submitting the video queued a poller
    render_video_task(Job.objects.get(pk=job.pk).provider_task_id)
    before = queued_tasks()
    assert runner.pump().startswith("polled")
    job.refresh_from_db()
    assert job.status == "completed"
    assert not Lease.is_held("poller")
    assert queued_tasks() == before  # nothing left in flight, so no successor


def test_a_failed_local_render_fails_the_video_and_releases(funded, alice, settings):
    job = video_job(funded, alice)
    runner.run_job(job.pk)
    settings.LOCAL_PROVIDER_FAIL_RATE = 1.0
    job.refresh_from_db()
    render_video_task(job.provider_task_id)
    assert LocalTask.objects.get(pk=job.provider_task_id).status == "failed"
    runner.poll_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "model_unavailable")
    assert ledger.balance(funded) == D("100.00")


def test_inputs_go_to_the_provider_with_their_own_type_and_name(funded, alice):
    import io

    from PIL import Image

    from studio.generations import media

    jpeg = io.BytesIO()
    Image.new("RGB", (40, 30), (9, 9, 9)).save(jpeg, "JPEG")
    asset = media.make_asset(
        media.store_image(jpeg, workspace_id=funded.id),
        workspace=funded,
        user=alice,
        made_by="upload",
    )
    source = running._input_image(asset)
    assert (source.content_type, source.filename) == ("image/jpeg", "original.jpg")
    assert source.data == media.open_asset(asset)
    webp = io.BytesIO()
    Image.new("RGB", (40, 30)).save(webp, "WEBP")
    name = default_storage.save("inputs/1/ref.webp", webp)
    reference = running._from_storage(name)
    assert (reference.content_type, reference.filename) == ("image/webp", "ref.webp")


# ---- cancelling ----------------------------------------------------------------------------


@pytest.mark.slow  # renders part of a real video
@pytest.mark.django_db(transaction=True)  # the render runs on a thread with its own connection
def test_cancelling_a_running_local_video_stops_its_render_and_releases(funded, alice):
    import threading

    from django.db import connection

    job = runner.submit(
        workspace=funded,
        user=alice,
        kind="animate",
        prompt="waves",
        request={"model": "veo", "duration": 10, "size": "640x360"},
    )
    assert runner.run_job(job.pk) == "processing"
    job.refresh_from_db()
    task_id = job.provider_task_id
    outcome = []

    def render():
        try:
            outcome.append(render_video_task(task_id))
        finally:
            connection.close()

    renderer = threading.Thread(target=render)
    renderer.start()
    deadline = timezone.now() + timedelta(seconds=60)
    while LocalTask.objects.get(pk=task_id).progress == 0 and timezone.now() < deadline:
        renderer.join(0.1)  # wait until it has beaten once: it is really rendering
    assert runner.cancel(job) is True
    renderer.join(60)
    assert outcome == ["superseded"]  # it stopped at its next heartbeat
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("cancelled", "cancelled")
    assert settled(job).released == D("10.00") and ledger.balance(funded) == D("100.00")
    task = LocalTask.objects.get(pk=task_id)
    assert (task.status, task.error_code, task.output_path) == ("failed", "cancelled", "")
    runner.poll_job(job.pk)  # a poller that comes by changes nothing
    assert not Asset.objects.filter(job=job).exists()


def test_a_running_local_image_job_can_be_cancelled_and_its_result_is_not_kept(funded, alice):
    from studio.generations import media
    from tests.test_api import png

    job = submit(funded, alice)
    assert job.claim(timezone.now())  # a worker has started it
    assert runner.cancel(job) is True
    stored = media.store_image(png(), workspace_id=funded.id)  # ...and finishes afterwards
    assert job.complete([stored], 1, timezone.now()) is False
    assert not default_storage.exists(stored.name) and not Asset.objects.exists()
    assert Job.objects.get(pk=job.pk).status == "cancelled"
    assert ledger.balance(funded) == D("100.00")


def test_a_running_pixapi_job_cant_be_cancelled_as_pixapi_can_not_stop_it(funded, alice):
    job = submit(funded, alice)
    Job.objects.filter(pk=job.pk).update(status="processing", provider="pixapi")
    assert runner.cancel(Job.objects.get(pk=job.pk)) is False
    assert Job.objects.get(pk=job.pk).status == "processing"
    assert ledger.balance(funded) == D("98.00")


# ---- no slow work in a transaction ---------------------------------------------------------


def test_slow_work_inside_a_transaction_is_refused(alpha, fake, settings):
    import io

    from django.db import transaction

    from studio.generations import media
    from studio.lib import download
    from studio.lib.transactions import TransactionOpen
    from tests.fake_pixapi import png_bytes

    settings.PROVIDER_ALLOW_PRIVATE_URLS = True
    url = fake.serve_file("a.png", png_bytes(8, 8), "image/png")
    with transaction.atomic():
        with pytest.raises(TransactionOpen):
            media.store_image(io.BytesIO(png_bytes(8, 8)), workspace_id=alpha.id)
        with pytest.raises(TransactionOpen):
            download.download(url, io.BytesIO())
    assert download.download(url, io.BytesIO()).content_type == "image/png"  # outside: fine

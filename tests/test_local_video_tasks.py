"""The local renderer's async videos: real H.264 files, real progress, and renders that survive
killed workers and duplicate deliveries without ever rendering a finished task again."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import imageio_ffmpeg
import pytest
from django.db.models import F
from django.utils import timezone
from django_q.models import OrmQ
from PIL import Image, ImageChops, ImageStat

from studio.generations.media import probe_video
from studio.providers.base import InputImage, ProviderError
from studio.providers.local import LocalProvider, render_video_task, video
from studio.providers.local import provider as local
from studio.providers.local.models import MAX_RENDERS, STALE_AFTER, LocalTask
from tests.conftest import database_url

pytestmark = pytest.mark.django_db


class RenderQueue:
    """The render tasks waiting in django-q2's ORM broker (a unit test runs no cluster, so
    they stay there to be looked at): compares equal to the list of their LocalTask ids."""

    FUNC = "studio.providers.local.provider.render_video_task"

    def _waiting(self):
        from django_q.models import OrmQ

        return [q for q in OrmQ.objects.order_by("id") if q.task["func"] == self.FUNC]

    def __eq__(self, other) -> bool:
        return [q.task["args"][0] for q in self._waiting()] == other

    def __repr__(self) -> str:
        return repr([q.task["args"][0] for q in self._waiting()])

    def clear(self) -> None:
        for q in self._waiting():
            q.delete()


@pytest.fixture
def enqueued():
    return RenderQueue()


@pytest.fixture
def provider():
    return LocalProvider()


def submit(provider, capture, prompt="mountains at sunset", size="96x64", duration=1, image=None):
    with capture(execute=True):
        return provider.submit_video(
            model="veo",
            prompt=prompt,
            duration=duration,
            size=size,
            quality="lite",
            input_image=InputImage(data=image) if image else None,
        )


def go_stale(task_id: str, status: str, **extra) -> None:
    """Make the task look like its worker died a while ago."""
    LocalTask.objects.filter(pk=task_id).update(
        status=status, heartbeat_at=timezone.now() - STALE_AFTER - timedelta(seconds=5), **extra
    )


def frames_of(path: str) -> list[Image.Image]:
    reader = imageio_ffmpeg.read_frames(path)
    meta = next(reader)
    size = meta["size"]
    return [Image.frombytes("RGB", size, bytes(frame)) for frame in reader]


def test_a_video_renders_to_an_h264_mp4_of_the_exact_size_and_duration(
    provider, enqueued, django_capture_on_commit_callbacks, settings
):
    state = submit(provider, django_capture_on_commit_callbacks, size="128x72", duration=2)
    assert state.status == "submitted" and state.id.startswith("task_")
    assert enqueued == [state.id]
    assert provider.get_task(state.id).status == "queued"

    assert render_video_task(state.id) == "completed"

    done = provider.get_task(state.id)
    assert done.status == "completed" and done.progress == 100 and done.is_final
    assert LocalTask.objects.get(pk=state.id).duration == 2
    (output,) = done.outputs
    assert output.content_type == "video/mp4"
    assert Path(output.path).parent == Path(settings.LOCAL_PROVIDER_MEDIA_DIR) / "videos"
    info = probe_video(output.path)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.width, info.height) == (128, 72)
    assert info.frames == 48 and info.duration == pytest.approx(2.0, abs=0.01)
    dest = io.BytesIO()
    fetched = provider.fetch(output, dest)
    assert fetched.content_type == "video/mp4" and fetched.size == Path(output.path).stat().st_size
    # faststart: the index (moov) comes before the media data (mdat).
    data = dest.getvalue()
    assert data.index(b"moov") < data.index(b"mdat")


def test_the_picture_moves_over_the_clip(provider, enqueued, django_capture_on_commit_callbacks):
    state = submit(provider, django_capture_on_commit_callbacks, "a city skyline at night", "96x64")
    render_video_task(state.id)
    frames = frames_of(provider.get_task(state.id).outputs[0].path)
    assert len(frames) == 24
    steps = [
        ImageStat.Stat(ImageChops.difference(a, b)).mean
        for a, b in zip(frames, frames[1:], strict=False)
    ]
    # Every frame moves a little (no frozen stretch), and the whole clip a lot.
    assert all(sum(step) > 0 for step in steps)
    assert sum(ImageStat.Stat(ImageChops.difference(frames[0], frames[-1])).mean) > 15


def test_image_to_video_films_the_input_image(
    provider, enqueued, django_capture_on_commit_callbacks, settings
):
    red = Image.new("RGB", (200, 120), (200, 30, 30))
    buf = io.BytesIO()
    red.save(buf, "PNG")
    state = submit(provider, django_capture_on_commit_callbacks, "animate", image=buf.getvalue())
    inputs = Path(settings.LOCAL_PROVIDER_MEDIA_DIR) / "inputs"
    assert len(list(inputs.iterdir())) == 1  # kept until the render is done, for restarts
    render_video_task(state.id)
    first = frames_of(provider.get_task(state.id).outputs[0].path)[0]
    r, g, b = ImageStat.Stat(first.crop((0, 0, 60, 40))).mean
    assert r > 150 and g < 110 and b < 110
    assert list(inputs.iterdir()) == []


def test_it_reports_progress_as_frames_are_written(
    provider, enqueued, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(local, "HEARTBEAT_EVERY", 0)
    seen = []
    beat = LocalTask.beat

    def spy(task, progress, now):
        seen.append((progress, LocalTask.objects.get(pk=task.pk).status))
        return beat(task, progress, now)

    monkeypatch.setattr(LocalTask, "beat", spy)
    state = submit(provider, django_capture_on_commit_callbacks)
    render_video_task(state.id)
    progress = [p for p, _ in seen]
    assert progress == sorted(progress) and len(set(progress)) > 10
    assert progress[-1] == 99 and {s for _, s in seen} == {"processing"}
    assert LocalTask.objects.get(pk=state.id).progress == 100


def test_submit_enqueues_one_django_q_task_after_commit(
    provider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        state = provider.submit_video(
            model="veo", prompt="x", duration=1, size="64x64", quality=None, input_image=None
        )
        assert OrmQ.objects.count() == 0  # nothing is queued before the row is committed
    for callback in callbacks:
        callback()
    (queued,) = OrmQ.objects.all()
    assert queued.task["func"] == "studio.providers.local.provider.render_video_task"
    assert queued.task["args"] == (state.id,)


@pytest.mark.servers
def test_a_duplicate_delivery_does_nothing(provider, enqueued, django_capture_on_commit_callbacks):
    state = submit(provider, django_capture_on_commit_callbacks)
    assert render_video_task(state.id) == "completed"
    path = Path(provider.get_task(state.id).outputs[0].path)
    modified = path.stat().st_mtime_ns
    assert render_video_task(state.id) == "skipped"
    assert path.stat().st_mtime_ns == modified
    assert LocalTask.objects.get(pk=state.id).renders == 1


def test_a_render_that_stopped_beating_is_queued_again_once(
    provider, enqueued, django_capture_on_commit_callbacks
):
    state = submit(provider, django_capture_on_commit_callbacks)
    go_stale(state.id, "processing", progress=40, renders=1)  # the worker was killed mid-render
    enqueued.clear()

    again = provider.get_task(state.id)
    assert again.status == "queued" and again.progress == 0
    assert enqueued == [state.id]
    task = LocalTask.objects.get(pk=state.id)
    assert task.attempt == 2
    # A second poller right after sees a fresh heartbeat: nothing more is queued.
    provider.get_task(state.id)
    assert enqueued == [state.id]

    assert render_video_task(state.id) == "completed"
    assert provider.get_task(state.id).outputs[0].path.endswith(f"{state.id}-2.mp4")


@pytest.mark.servers
def test_of_two_pollers_seeing_the_same_dead_render_only_one_requeues_it(
    provider, enqueued, django_capture_on_commit_callbacks
):
    state = submit(provider, django_capture_on_commit_callbacks)
    go_stale(state.id, "processing", renders=1)
    first, second = LocalTask.objects.get(pk=state.id), LocalTask.objects.get(pk=state.id)
    now = timezone.now()
    assert [first.requeue_if_stale(now), second.requeue_if_stale(now)] == [True, False]
    assert LocalTask.objects.get(pk=state.id).attempt == 2


def test_a_queued_render_no_worker_picked_up_is_queued_again(
    provider, enqueued, django_capture_on_commit_callbacks
):
    state = submit(provider, django_capture_on_commit_callbacks)
    go_stale(state.id, "queued")  # the enqueue was lost
    enqueued.clear()
    assert provider.get_task(state.id).status == "queued"
    assert enqueued == [state.id]
    # The late original delivery and the new one: one renders, the other does nothing.
    assert sorted([render_video_task(state.id), render_video_task(state.id)]) == [
        "completed",
        "skipped",
    ]


def test_a_render_with_a_recent_heartbeat_is_left_alone(
    provider, enqueued, django_capture_on_commit_callbacks
):
    state = submit(provider, django_capture_on_commit_callbacks)
    LocalTask.objects.filter(pk=state.id).update(status="processing", progress=30)
    enqueued.clear()
    assert provider.get_task(state.id).progress == 30
    assert enqueued == []


def test_a_completed_task_is_never_rendered_again(
    provider, enqueued, django_capture_on_commit_callbacks
):
    state = submit(provider, django_capture_on_commit_callbacks)
    render_video_task(state.id)
    go_stale(state.id, "completed")
    enqueued.clear()
    assert provider.get_task(state.id).status == "completed"
    assert enqueued == []
    assert render_video_task(state.id) == "skipped"


@pytest.mark.parametrize("successor", ["queued", "processing"])
def test_a_render_presumed_dead_stops_when_it_notices(
    provider, enqueued, django_capture_on_commit_callbacks, monkeypatch, settings, successor
):
    """A worker that was only slow, not dead, must not write over the attempt that replaced it
    (whether that attempt is still queued or already rendering)."""
    monkeypatch.setattr(local, "HEARTBEAT_EVERY", 0)
    real_render = video.render_video

    def render_then_get_replaced(**kwargs):
        report = kwargs["on_progress"]

        def on_progress(done, total):
            if done == 5:  # meanwhile a poller gave up on this render and queued it again
                LocalTask.objects.filter(pk=state.id).update(
                    status=successor, attempt=F("attempt") + 1, progress=0
                )
            report(done, total)

        return real_render(**{**kwargs, "on_progress": on_progress})

    monkeypatch.setattr(video, "render_video", render_then_get_replaced)
    state = submit(provider, django_capture_on_commit_callbacks)
    assert render_video_task(state.id) == "superseded"
    task = LocalTask.objects.get(pk=state.id)
    assert (task.status, task.attempt, task.progress, task.output_path) == (successor, 2, 0, "")
    videos = Path(settings.LOCAL_PROVIDER_MEDIA_DIR) / "videos"
    assert list(videos.iterdir()) == []  # no half-written file anywhere


def test_a_render_that_keeps_dying_is_failed_after_max_renders(
    provider, enqueued, django_capture_on_commit_callbacks
):
    state = submit(provider, django_capture_on_commit_callbacks)
    go_stale(state.id, "processing", renders=MAX_RENDERS)
    enqueued.clear()
    failed = provider.get_task(state.id)
    assert failed.status == "failed" and failed.error_code == "internal_error"
    assert enqueued == []


def test_a_fail_rate_of_one_fails_the_video_part_way(
    provider, enqueued, django_capture_on_commit_callbacks, settings
):
    settings.LOCAL_PROVIDER_FAIL_RATE = 1.0
    state = submit(provider, django_capture_on_commit_callbacks)
    assert render_video_task(state.id) == "failed"
    failed = provider.get_task(state.id)
    assert failed.status == "failed" and failed.is_final and failed.outputs == []
    assert failed.error_code == "model_unavailable"
    assert "LOCAL_PROVIDER_FAIL_RATE" in failed.error_message
    assert 20 <= failed.progress <= 70
    assert list((Path(settings.LOCAL_PROVIDER_MEDIA_DIR) / "videos").iterdir()) == []


def test_an_unknown_task_is_a_permanent_not_found(provider):
    with pytest.raises(ProviderError) as e:
        provider.get_task("task_nope")
    assert e.value.permanent and (e.value.status, e.value.code) == (404, "not_found")


def test_an_odd_video_size_is_refused(provider):
    with pytest.raises(ProviderError) as e:
        provider.submit_video(
            model="veo", prompt="x", duration=1, size="99x64", quality=None, input_image=None
        )
    assert e.value.permanent and e.value.code == "invalid_request_error"
    assert LocalTask.objects.count() == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_render_whose_worker_is_killed_is_finished_by_the_next_attempt(
    provider, enqueued, settings, tmp_path
):
    """A real worker process, killed with SIGKILL mid-render, then a poll and a new render."""
    data_dir = tmp_path / "data"
    settings.LOCAL_PROVIDER_MEDIA_DIR = data_dir / "provider"  # what the worker will use
    state = provider.submit_video(
        model="veo", prompt="a forest", duration=10, size="1280x720", quality=None, input_image=None
    )
    assert enqueued == [state.id]  # no transaction around us: queued at once
    enqueued.clear()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "studio.settings",
        "STUDIO_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url(),
    }
    code = (
        "import django; django.setup(); from studio.providers.local import render_video_task; "
        f"render_video_task({state.id!r})"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=Path(__file__).parent.parent
    )
    try:
        deadline = time.monotonic() + 30
        while LocalTask.objects.get(pk=state.id).progress == 0:
            assert worker.poll() is None, "the worker ended before it reported progress"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        worker.kill()
        worker.wait()
    killed = provider.get_task(state.id)
    assert killed.status == "processing" and 0 < killed.progress < 100
    assert enqueued == []  # its heartbeat is still fresh

    go_stale(state.id, "processing")  # ...and then 15 s pass without one
    assert provider.get_task(state.id).status == "queued"
    assert enqueued == [state.id]
    assert render_video_task(state.id) == "completed"
    done = provider.get_task(state.id)
    assert probe_video(done.outputs[0].path).frames == 10 * 24
    videos = settings.LOCAL_PROVIDER_MEDIA_DIR / "videos"
    assert [p.name for p in videos.iterdir()] == [f"{state.id}-2.mp4"]

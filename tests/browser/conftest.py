"""What the browser tests share: a studio with media of every shape, signed-in pages at a
desktop and a phone size, and the measurements a careful person makes by eye."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client

from studio.accounts.models import Membership
from studio.credits import ledger
from studio.generations import media, runner, tools
from studio.generations.models import Job
from studio.providers.local.video import render_video
from tests.conftest import ARTIFACTS
from tests.factories import make_job

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}

# What a person would notice on a page (see the file's comment).
MEASURE_JS = (Path(__file__).parent / "measure.js").read_text()

# The box an element is drawn in, and whether all of it is inside the window.
BOX_JS = """(el) => { const r = el.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width,
          height: r.height, inView: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight
          && r.right <= innerWidth && r.width > 0}; }"""


def measure(page) -> list[list[str]]:
    page.wait_for_load_state("load")
    # Lazy images below the fold wait for a scroll; every other one must have arrived.
    page.wait_for_function(
        "() => [...document.images].every(i => i.complete || i.loading === 'lazy')"
    )
    return page.evaluate(MEASURE_JS)


def box(locator) -> dict:
    return locator.evaluate(BOX_JS)


def snap(page, name: str, full_page: bool = False) -> None:
    """Save a screenshot of `page` under artifacts/<name>.png, to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def png(width: int, height: int) -> io.BytesIO:
    """A picture with a feature at each corner, so a wrong crop or stretch is visible."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (70, 110, 170))
    draw = ImageDraw.Draw(image)
    r = min(width, height) // 8
    for x, y in ((0, 0), (width - r, 0), (0, height - r), (width - r, height - r)):
        draw.ellipse((x, y, x + r, y + r), fill=(240, 200, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    out.seek(0)
    return out


@pytest.fixture
def studio(transactional_db, make_user, settings, tmp_path):
    """Workspace Alpha: alice owns it (500 credits), vic views it; a square and a tall image,
    a wide generated one with an AI edit of it, and a video."""
    from studio.accounts.models import Workspace

    settings.DATA_DIR = tmp_path
    alpha = Workspace.objects.create(name="Alpha")
    alice, vic = make_user("alice"), make_user("vic")
    Membership.objects.create(user=alice, workspace=alpha, role="owner")
    Membership.objects.create(user=vic, workspace=alpha, role="viewer")
    ledger.grant(alpha, 500)

    def upload(width, height, prompt):
        stored = media.store_image(png(width, height), workspace_id=alpha.id)
        return media.make_asset(
            stored, workspace=alpha, user=alice, made_by="upload", prompt=prompt
        )

    square = upload(1024, 1024, "a square test card")
    tall = tools.apply(square, "crop", {"aspect": "9:16"}, alice)  # 576 × 1024
    generated = runner.submit(
        workspace=alpha,
        user=alice,
        kind="generate",
        request={"model": "gemini-2.5-flash-image", "size": "16:9"},
        prompt="a lighthouse on a cliff at night",
        enqueue_job=False,
    )
    runner.run_job(generated.pk)
    wide = generated.assets.get()  # 1344 × 768
    edit_job = runner.submit(
        workspace=alpha,
        user=alice,
        kind="edit",
        request={"model": "gemini-2.5-flash-image", "size": "16:9"},
        prompt="make it stormy",
        source_asset=wide,
        enqueue_job=False,
    )
    runner.run_job(edit_job.pk)
    edit = edit_job.assets.get()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        render_video(prompt="waves", width=320, height=180, duration=1, out_path=clip)
        stored = media.store_video(str(clip), workspace_id=alpha.id)
    video_job = make_job(
        alpha,
        alice,
        {"model": "veo", "duration": 1},
        kind="animate",
        status="completed",
        source_asset=wide,
        prompt="slow push-in",
    )
    video = media.make_asset(
        stored, workspace=alpha, user=alice, job=video_job, parent=wide, made_by="animate"
    )
    return SimpleNamespace(
        workspace=alpha,
        alice=alice,
        vic=vic,
        square=square,
        tall=tall,
        wide=wide,
        edit=edit,
        edit_job=Job.objects.get(pk=edit_job.pk),
        video=video,
    )


@pytest.fixture
def open_page(browser, live_server):
    """open_page(user, "desktop" | "phone", path) → a signed-in page at that size."""
    contexts = []

    def open_(user, size: str = "desktop", path: str = "/"):
        client = Client()
        client.force_login(user)
        width, height = SIZES[size]
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        page.goto(live_server.url + path)
        return page

    yield open_
    for context in contexts:
        context.close()

"""One team can't slow another down (DESIGN invariant 7): while one workspace sends heavy
uploads or an input_image that drips in slowly, another workspace's /v1 calls go through,
with no 500 and no stall. Over real HTTP to a live server, whose requests run side by side.

Before, both held SQLite's only write lock for the whole upload check or download, so the
other workspace's writes waited up to 20 s and failed with "database is locked".
"""

from __future__ import annotations

import io
import threading
import time

import httpx
import pytest
from PIL import Image

from studio.accounts.models import ApiKey
from studio.credits import ledger
from studio.generations.models import Job
from tests.fake_pixapi import png_bytes

pytestmark = pytest.mark.slow

# Calls of the other workspace must answer within this (they take well under a second even
# while the heavy requests keep both cores busy); a write lock held by a heavy request for
# its whole upload check makes them wait longer, up to SQLite's 20 s timeout, then fail.
QUICK = 5.0


@pytest.fixture
def keys(transactional_db, settings, alpha, alice, other, charlie):
    settings.API_RATE_BURST = settings.API_RATE_LIMIT = 10_000
    ledger.grant(alpha, 1000)
    ledger.grant(other, 1000)
    _, heavy = ApiKey.create(user=alice, workspace=alpha, name="heavy")
    _, light = ApiKey.create(user=charlie, workspace=other, name="light")
    return heavy, light


def other_workspace_calls(base: str, key: str, while_running) -> list[int]:
    """Call the API as the other workspace, reads and writes, for as long as
    `while_running()` says; return the statuses. Each call must answer within QUICK."""
    statuses = []
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=QUICK
    ) as api:
        while while_running() or len(statuses) < 8:
            task = api.post(
                "/v1/async/images/generations", json={"model": "nano-banana", "prompt": "kite"}
            )
            statuses += [
                task.status_code,
                api.get(f"/v1/tasks/{task.json()['id']}").status_code,
                api.get("/v1/models").status_code,
                api.post(
                    "/v1/images/generations",
                    json={"model": "nano-banana", "prompt": "boat", "size": "512"},
                ).status_code,
            ]
    return statuses


def big_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (30, 120, 200)).save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_heavy_uploads_in_one_workspace_dont_hold_up_another(live_server, keys):
    heavy, light = keys
    picture = big_png(5792)  # 33.5 MP, the most we decode: checked one after the other
    results: list[int] = []

    def upload():
        files = [("image[]", (f"{i}.png", picture, "image/png")) for i in range(16)]
        r = httpx.post(
            f"{live_server.url}/v1/async/images/edits",
            headers={"Authorization": f"Bearer {heavy}"},
            data={"model": "nano-banana", "prompt": "make it night"},
            files=files,
            timeout=120,
        )
        results.append(r.status_code)

    uploads = [threading.Thread(target=upload) for _ in range(3)]
    for t in uploads:
        t.start()
    statuses = other_workspace_calls(
        live_server.url, light, lambda: any(t.is_alive() for t in uploads)
    )
    for t in uploads:
        t.join()
    assert results == [200, 200, 200]
    assert set(statuses) == {200}, statuses
    assert Job.objects.filter(kind="edit").count() == 3


def test_a_slow_input_image_in_one_workspace_doesnt_hold_up_another(
    live_server, keys, fake, settings
):
    heavy, light = keys
    settings.PROVIDER_ALLOW_PRIVATE_URLS = True  # the slow server is on loopback
    data, release, started = png_bytes(64, 48), threading.Event(), threading.Event()

    def drip(seen):
        def body():
            started.set()
            yield data[:16]
            # A byte every 0.2 s until the other workspace is done (never more than 60 s):
            # the download is in flight for every one of its calls.
            deadline = time.monotonic() + 60
            for i in range(16, len(data) - 1):
                if release.is_set() or time.monotonic() > deadline:
                    break
                yield data[i : i + 1]
                time.sleep(0.2)
            else:
                i = len(data) - 1
            yield data[i:]

        return 200, {"Content-Type": "image/png"}, body()

    url = fake.route("/drip.png", drip)
    answer: list[httpx.Response] = []

    def animate():
        answer.append(
            httpx.post(
                f"{live_server.url}/v1/async/videos/generations",
                headers={"Authorization": f"Bearer {heavy}"},
                json={"model": "veo", "prompt": "zoom", "duration": 1, "input_image": url},
                timeout=120,
            )
        )

    slow = threading.Thread(target=animate)
    slow.start()
    assert started.wait(30), "the slow download never started"
    statuses = other_workspace_calls(live_server.url, light, lambda: False)
    assert slow.is_alive()  # every call above went through while the download dripped
    release.set()
    slow.join(60)
    assert set(statuses) == {200}, statuses
    assert answer[0].status_code == 200, answer[0].text
    job = Job.objects.get(public_id=answer[0].json()["id"])
    assert (job.source_asset.width, job.source_asset.height) == (64, 48)

"""OpenAI's Videos API on the studio's jobs, prices and credits: create, retrieve, list,
content (with Range, and the poster), delete — in OpenAI's shape and status names.

Before, no OpenAI-style client could make a video here: POST /v1/videos was a 404.
(tests/test_clients.py drives it with the openai SDKs and LiteLLM over HTTP.)
"""

from __future__ import annotations

import base64
import io
import json
from decimal import Decimal

import pytest
from PIL import Image

from studio.accounts.models import ApiKey, Membership
from studio.credits import ledger
from studio.generations.models import Asset, Job
from tests.test_api import assert_error, png
from tests.test_jobs import render_and_poll

D = Decimal


def test_a_video_is_made_in_openais_shape_on_the_same_job_and_prices(api, alpha):
    r = api.multipart(
        "/v1/videos", {"model": "veo", "prompt": "waves", "seconds": "2", "size": "1280x720"}
    )
    assert r.status_code == 200, r.content
    video = r.json()
    assert {k: video[k] for k in ("object", "status", "model", "seconds", "size", "progress")} == {
        "object": "video",
        "status": "queued",
        "model": "veo",
        "seconds": "2",
        "size": "1280x720",
        "progress": 0,
    }
    assert video["completed_at"] is None and video["error"] is None
    job = Job.objects.get(public_id=video["id"])
    assert (job.kind, job.quote["duration"], job.credits_quoted) == ("animate", 2, D("2.00"))
    assert ledger.balance(alpha) == D("98.00")  # reserved, as the Pixapi route does
    # The same job is a task of the Pixapi route.
    assert api.get(f"/v1/tasks/{video['id']}").json()["status"] == "queued"


def test_openais_defaults_are_four_seconds_portrait(api):
    video = api.post("/v1/videos", {"model": "kling", "prompt": "waves"}).json()
    assert (video["seconds"], video["size"]) == ("4", "720x1280")


def test_a_finished_video_is_completed_with_its_file_and_poster(api, alpha, client):
    video = api.post("/v1/videos", {"model": "wan", "prompt": "a kite", "seconds": 1}).json()
    render_and_poll(Job.objects.get(public_id=video["id"]))
    done = api.get(f"/v1/videos/{video['id']}")
    assert done["x-credits-charged"] == "2.00"
    done = done.json()
    assert (done["status"], done["progress"]) == ("completed", 100)
    assert done["completed_at"] >= done["created_at"]
    assert done["usage"]["credits"] == "2.00"
    whole = api.get(f"/v1/videos/{video['id']}/content")
    assert whole["Content-Type"] == "video/mp4"
    mp4 = b"".join(whole.streaming_content)
    assert mp4[4:8] == b"ftyp"
    part = api.get(f"/v1/videos/{video['id']}/content", HTTP_RANGE="bytes=0-11")
    assert part.status_code == 206 and b"".join(part.streaming_content) == mp4[:12]
    past = api.get(f"/v1/videos/{video['id']}/content", HTTP_RANGE=f"bytes={len(mp4)}-")
    assert past.status_code == 416 and past["Content-Range"] == f"bytes */{len(mp4)}"
    poster = api.get(f"/v1/videos/{video['id']}/content?variant=thumbnail")
    assert Image.open(io.BytesIO(b"".join(poster.streaming_content))).format == "JPEG"
    r = api.get(f"/v1/videos/{video['id']}/content?variant=spritesheet")
    assert_error(r, 400, "invalid_request_error", "variant")


def test_content_before_it_is_ready_is_a_404_saying_so(api):
    video = api.post("/v1/videos", {"model": "wan", "prompt": "a kite", "seconds": 1}).json()
    error = assert_error(api.get(f"/v1/videos/{video['id']}/content"), 404, "not_found", "id")
    assert "is queued" in error["message"]


def test_input_reference_as_an_upload_a_url_of_ours_or_a_data_url(api):
    r = api.multipart(
        "/v1/videos",
        {"model": "veo", "prompt": "push in", "seconds": "1", "input_reference": png()},
    )
    assert r.status_code == 200, r.content
    uploaded = Job.objects.get(public_id=r.json()["id"]).source_asset
    assert uploaded.made_by == "upload" and uploaded.width == 64
    url = api.post("/v1/images/generations", {"model": "nano-banana", "prompt": "a lamp"}).json()[
        "data"
    ][0]["url"]
    r = api.post(
        "/v1/videos",
        {"model": "veo", "prompt": "zoom", "seconds": 1, "input_reference": {"image_url": url}},
    )
    assert Job.objects.get(public_id=r.json()["id"]).source_asset.job.kind == "generate"
    data_url = "data:image/png;base64," + base64.b64encode(png().getvalue()).decode()
    r = api.post(
        "/v1/videos",
        {
            "model": "veo",
            "prompt": "zoom",
            "seconds": 1,
            "input_reference": {"image_url": data_url},
        },
    )
    assert r.status_code == 200, r.content
    assert Job.objects.get(public_id=r.json()["id"]).source_asset.width == 64


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"model": "veo", "prompt": "x", "seconds": "12"}, "seconds", "seconds must be"),
        ({"model": "veo", "prompt": "x", "seconds": "four"}, "seconds", "whole number"),
        ({"model": "veo", "prompt": "x", "size": "4:3"}, "size", "not a video size"),
        ({"model": "gpt-image-2", "prompt": "x"}, "model", "is an image model"),
        ({"model": "veo", "prompt": "x", "duration": 5}, "duration", "Unknown field"),
        (
            {"model": "veo", "prompt": "x", "input_reference": {"file_id": "file_1"}},
            "input_reference",
            "file_id is not offered",
        ),
        (
            {"model": "veo", "prompt": "x", "input_reference": {"image_url": "ftp://x/a.png"}},
            "input_reference",
            "http(s) URL",
        ),
    ],
)
def test_bad_video_requests_are_400s_in_this_apis_words(api, body, param, words):
    error = assert_error(api.post("/v1/videos", body), 400, "invalid_request_error", param)
    assert words in error["message"]
    assert not Job.objects.exists()


def test_an_unreadable_input_reference_is_a_400_and_nothing_is_kept(api, settings):
    upload = io.BytesIO(b"not a picture")
    upload.name = "in.png"
    r = api.multipart("/v1/videos", {"model": "veo", "prompt": "x", "input_reference": upload})
    assert_error(r, 400, "invalid_request_error", "input_reference")
    assert not Job.objects.exists() and not Asset.objects.exists()


def test_the_list_pages_newest_first_or_oldest_first(api):
    ids = [
        api.post("/v1/videos", {"model": "wan", "prompt": f"p{i}", "seconds": 1}).json()["id"]
        for i in range(3)
    ]
    api.post("/v1/async/images/generations", {"model": "nano-banana", "prompt": "not a video"})
    page = api.get("/v1/videos?limit=2").json()
    assert [v["id"] for v in page["data"]] == ids[::-1][:2]
    assert (page["object"], page["has_more"], page["first_id"]) == ("list", True, ids[2])
    rest = api.get(f"/v1/videos?limit=2&after={page['last_id']}").json()
    assert [v["id"] for v in rest["data"]] == [ids[0]] and rest["has_more"] is False
    oldest = api.get("/v1/videos?order=asc&limit=2").json()
    assert [v["id"] for v in oldest["data"]] == ids[:2]
    assert_error(api.get("/v1/videos?order=sideways"), 400, "invalid_request_error", "order")


def test_deleting_a_finished_video_removes_its_file_from_the_gallery_and_this_api(api, alpha):
    video = api.post("/v1/videos", {"model": "wan", "prompt": "a kite", "seconds": 1}).json()
    render_and_poll(Job.objects.get(public_id=video["id"]))
    r = api.generic("DELETE", f"/v1/videos/{video['id']}")
    assert r.json() == {"id": video["id"], "object": "video.deleted", "deleted": True}
    assert Asset.objects.get(kind="video").deleted_at is not None
    assert_error(api.get(f"/v1/videos/{video['id']}"), 404, "not_found")
    assert_error(api.get(f"/v1/videos/{video['id']}/content"), 404, "not_found")
    assert api.get("/v1/videos").json()["data"] == []
    assert ledger.balance(alpha) == D("98.00")  # what was delivered stays paid for


def test_deleting_a_queued_video_cancels_it_and_releases_its_credits(api, alpha):
    video = api.post("/v1/videos", {"model": "veo", "prompt": "x", "seconds": 3}).json()
    assert ledger.balance(alpha) == D("97.00")
    assert api.generic("DELETE", f"/v1/videos/{video['id']}").json()["deleted"] is True
    assert ledger.balance(alpha) == D("100.00")
    failed = api.get(f"/v1/videos/{video['id']}").json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "cancelled"


def test_videos_of_another_workspace_and_image_tasks_are_not_videos(api, other, charlie):
    from tests.factories import make_job

    theirs = make_job(other, charlie, {"model": "veo", "duration": 2})
    assert_error(api.get(f"/v1/videos/{theirs.public_id}"), 404, "not_found", "id")
    assert_error(api.generic("DELETE", f"/v1/videos/{theirs.public_id}"), 404, "not_found")
    image = api.post("/v1/async/images/generations", {"model": "nano-banana", "prompt": "x"})
    assert_error(api.get(f"/v1/videos/{image.json()['id']}"), 404, "not_found")


def test_only_the_maker_or_an_admin_deletes_and_a_viewer_makes_none(client, alpha, alice, bob):
    ledger.grant(alpha, 50)
    _, alices = ApiKey.create(user=alice, workspace=alpha, name="a")
    _, bobs = ApiKey.create(user=bob, workspace=alpha, name="b")
    body = json.dumps({"model": "veo", "prompt": "x", "seconds": 1})
    made = client.post(
        "/v1/videos", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alices}"
    ).json()
    r = client.delete(f"/v1/videos/{made['id']}", HTTP_AUTHORIZATION=f"Bearer {bobs}")
    assert_error(r, 403, "permission_denied")
    Membership.objects.filter(user=bob).update(role="viewer")
    r = client.post(
        "/v1/videos", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {bobs}"
    )
    assert_error(r, 403, "permission_denied")
    assert Job.objects.count() == 1


def test_the_deprecated_video_route_keeps_its_400(api):
    error = assert_error(
        api.post("/v1/videos/generations", {"model": "veo", "prompt": "x"}),
        400,
        "invalid_request_error",
    )
    assert "/v1/async/videos/generations" in error["message"]

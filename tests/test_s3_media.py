"""Media in S3-compatible storage, against moto's S3 server on 127.0.0.1.

With S3_BUCKET set, every file goes to the bucket and our signed media URLs redirect to
presigned bucket URLs: the bucket answers Range requests and caching, not a web process.
"""

from __future__ import annotations

import io
import re
import runpy
import socket
import time
import uuid
import zipfile
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

import studio.settings
from studio.credits import ledger
from studio.gallery.models import Share
from studio.generations import media, runner
from studio.generations.models import Asset, Job
from studio.providers.local import render_video_task
from tests.conftest import Worker, worker_env
from tests.test_api import png

KEYS = {"S3_ACCESS_KEY_ID": "studio-test", "S3_SECRET_ACCESS_KEY": "studio-test-secret"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server, a real HTTP server in a thread of this process."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def studio_settings(monkeypatch, **env) -> dict:
    """The settings studio/settings.py makes of this environment."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(studio.settings.__file__)


@pytest.fixture
def bucket_env(s3_endpoint):
    """The environment of a studio on a new, empty bucket."""
    env = {
        "S3_BUCKET": f"media-{uuid.uuid4().hex[:12]}",
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": "us-east-1",
        **KEYS,
    }
    s3(env).create_bucket(Bucket=env["S3_BUCKET"])
    return env


@pytest.fixture
def bucket(bucket_env, settings, monkeypatch):
    """This test's studio keeps its media in a bucket of its own: returns the bucket's keys."""
    configured = studio_settings(monkeypatch, **bucket_env)
    settings.S3_BUCKET = configured["S3_BUCKET"]
    settings.STORAGES = configured["STORAGES"]
    return lambda: keys(bucket_env)


def s3(env):
    return boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        region_name=env["S3_REGION"],
        aws_access_key_id=env["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["S3_SECRET_ACCESS_KEY"],
    )


def keys(env) -> set[str]:
    listing = s3(env).list_objects_v2(Bucket=env["S3_BUCKET"])
    return {item["Key"] for item in listing.get("Contents", [])}


def follow(client, path: str, **headers) -> httpx.Response:
    """GET one of our media URLs and follow its redirect to the bucket."""
    r = client.get(path)
    assert r.status_code == 302, r
    return httpx.get(r["Location"], headers=headers)


@pytest.fixture
def funded(alpha):
    ledger.grant(alpha, 100)
    return alpha


def test_an_upload_and_its_thumbnail_go_to_the_bucket_not_the_disk(
    client, alice, funded, bucket, settings
):
    client.force_login(alice)
    upload = png(320, 240)
    upload.name = "beach.png"
    r = client.post("/gallery/upload/", {"image": upload})
    assert r.status_code == 302
    asset = Asset.objects.get()
    assert bucket() == {asset.file.name, asset.thumbnail.name}
    assert asset.file.name == f"assets/{funded.id}/{asset.uid}/original.png"
    assert not settings.MEDIA_ROOT.exists()


@pytest.fixture
def image(alpha, alice):
    stored = media.store_image(png(300, 200), workspace_id=alpha.id)
    return media.make_asset(stored, workspace=alpha, user=alice, made_by="upload")


def test_a_media_url_redirects_to_a_presigned_url_that_serves_ranges(
    client, bucket, image, settings
):
    asset = image
    r = client.get(media.signed_path(asset))
    assert r.status_code == 302
    assert r["Cache-Control"] == "private, max-age=3600"
    location = urlsplit(r["Location"])
    assert location.path == f"/{settings.S3_BUCKET}/{asset.file.name}"
    query = parse_qs(location.query)
    assert "Signature" in query or "X-Amz-Signature" in query
    expires = int(query["Expires"][0]) if "Expires" in query else None
    if expires:  # SigV2 names the moment; SigV4 the seconds from X-Amz-Date
        assert 3600 < expires - time.time() <= 4200
    else:
        assert query["X-Amz-Expires"] == ["4200"]

    whole = follow(client, media.signed_path(asset))
    assert whole.status_code == 200 and whole.content == media.open_asset(asset)
    assert whole.headers["content-type"] == "image/png"
    assert "immutable" in whole.headers["cache-control"]
    part = follow(client, media.signed_path(asset), Range="bytes=10-19")
    assert part.status_code == 206 and part.content == whole.content[10:20]
    thumb = follow(client, media.signed_path(asset, "thumb"))
    assert thumb.headers["content-type"] == "image/jpeg" and thumb.content[:2] == b"\xff\xd8"


def test_a_tampered_or_deleted_media_url_does_not_redirect(client, bucket, image):
    path = media.signed_path(image)
    assert client.get(path[:-3] + "abc").status_code == 404
    Asset.objects.filter(pk=image.pk).update(deleted_at=timezone.now())
    assert client.get(path).status_code == 404


def test_a_video_and_its_poster_go_to_the_bucket_and_the_video_seeks(client, alice, funded, bucket):
    job = runner.submit(
        workspace=funded,
        user=alice,
        kind="animate",
        prompt="waves",
        request={"model": "veo", "duration": 1, "size": "320x180"},
    )
    runner.run_job(job.pk)
    render_video_task(Job.objects.get(pk=job.pk).provider_task_id)
    runner.poll_job(job.pk)
    job.refresh_from_db()
    assert job.status == "completed", job.error_message
    video = job.assets.get()
    assert bucket() == {video.file.name, video.thumbnail.name}
    assert video.file.name.endswith("/video.mp4") and video.thumbnail.name.endswith("/poster.jpg")
    poster = follow(client, media.signed_path(video, "thumb"))
    assert poster.headers["content-type"] == "image/jpeg"
    head = follow(client, media.signed_path(video), Range="bytes=0-15")
    assert head.status_code == 206 and head.headers["content-type"] == "video/mp4"
    assert head.content[4:8] == b"ftyp"
    assert Decimal(ledger.balance(funded)) == Decimal("99.00")


def test_a_share_link_shows_media_from_the_bucket_until_it_is_stopped(client, alice, bucket, image):
    """A shared page's files come through the web process, never as a presigned bucket URL,
    which would outlive the share."""
    asset = image
    client.force_login(alice)
    client.post(f"/assets/{asset.uid}/share/", {"expires": "day"})
    share = Share.objects.get(asset=asset)
    client.logout()
    page = client.get(f"/s/{share.token}/")
    assert page.status_code == 200
    (url,) = set(re.findall(r'"(/s/[^"]+/file\.png)"', page.content.decode()))
    urls = [url, url.replace("file.png", "thumb.jpg")]
    for url in urls:
        served = client.get(url)
        assert served.status_code == 200 and served["Cache-Control"] == "no-store"
        assert b"".join(served.streaming_content)[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0")
    client.force_login(alice)
    client.post(f"/assets/{asset.uid}/share/", {"stop": "1"})
    client.logout()
    assert client.get(f"/s/{share.token}/").status_code == 404
    assert all(client.get(url).status_code == 404 for url in urls)


def test_a_zip_of_images_and_a_video_streams_from_the_bucket(
    client, alice, funded, bucket, image, settings
):
    job = runner.submit(
        workspace=funded,
        user=alice,
        kind="animate",
        prompt="waves",
        request={"model": "veo", "duration": 1, "size": "320x180"},
    )
    runner.run_job(job.pk)
    render_video_task(Job.objects.get(pk=job.pk).provider_task_id)
    runner.poll_job(job.pk)
    video = Job.objects.get(pk=job.pk).assets.get()
    client.force_login(alice)
    r = client.post("/gallery/bulk/", {"action": "zip", "uid": [image.uid, video.uid]})
    assert r.status_code == 200 and r.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    assert archive.testzip() is None
    for asset in (image, video):
        (name,) = [n for n in archive.namelist() if asset.uid in n]
        assert archive.read(name) == media.open_asset(asset)
    assert not settings.MEDIA_ROOT.exists()


def test_the_purge_deletes_old_trash_from_the_bucket(alice, bucket, image):
    from studio.gallery import lifecycle

    other = media.make_asset(
        media.store_image(png(), workspace_id=image.workspace_id),
        workspace=image.workspace,
        user=alice,
        made_by="upload",
    )
    lifecycle.trash([image.pk], timezone.now() - timedelta(days=31))
    lifecycle.purge()
    assert bucket() == {other.file.name, other.thumbnail.name}


def test_files_of_a_job_that_lost_the_race_are_deleted_from_the_bucket(alice, funded, bucket):
    job = runner.submit(
        workspace=funded,
        user=alice,
        kind="generate",
        prompt="a red bicycle",
        request={"model": "nano-banana", "size": "512"},
    )
    runner.run_job(job.pk)
    kept = bucket()
    late = media.store_image(png(), workspace_id=funded.id)
    assert bucket() == kept | {late.name, late.thumbnail}
    job.refresh_from_db()
    assert job.complete([late], 1, timezone.now()) is False
    assert bucket() == kept


def test_presigned_urls_name_the_public_endpoint_when_ours_is_internal(
    client, image, bucket_env, settings, monkeypatch
):
    configured = studio_settings(
        monkeypatch, **bucket_env, S3_PUBLIC_ENDPOINT_URL="https://media.example.com"
    )
    settings.S3_BUCKET, settings.STORAGES = configured["S3_BUCKET"], configured["STORAGES"]
    assert default_storage.endpoint_url == bucket_env["S3_ENDPOINT_URL"]
    location = client.get(media.signed_path(image))["Location"]
    assert location.startswith(f"https://media.example.com/{bucket_env['S3_BUCKET']}/")


@pytest.mark.slow
def test_a_worker_configured_by_the_environment_stores_in_the_bucket(
    client, alice, funded, bucket, bucket_env, settings, tmp_path, transactional_db
):
    worker = Worker(worker_env(settings, tmp_path, **bucket_env), tmp_path / "worker.log")
    worker.start()
    try:
        job = runner.submit(  # committed at once: the worker picks it up
            workspace=funded,
            user=alice,
            kind="generate",
            prompt="a lighthouse",
            request={"model": "nano-banana", "size": "512"},
        )
        deadline = time.monotonic() + 60
        while not Job.objects.get(pk=job.pk).is_final:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.2)
    finally:
        worker.stop()
    asset = Asset.objects.get(job=job)
    assert bucket() == {asset.file.name, asset.thumbnail.name}
    assert follow(client, media.signed_path(asset)).content[:8] == b"\x89PNG\r\n\x1a\n"


def test_ensure_bucket_creates_the_bucket_once_and_refuses_what_it_cannot_reach(
    bucket_env, settings, monkeypatch
):
    from django.core.management import CommandError, call_command

    env = {**bucket_env, "S3_BUCKET": f"media-{uuid.uuid4().hex[:12]}"}
    configured = studio_settings(monkeypatch, **env)
    settings.S3_BUCKET, settings.STORAGES = configured["S3_BUCKET"], configured["STORAGES"]
    out = io.StringIO()
    call_command("ensure_bucket", stdout=out)
    call_command("ensure_bucket", stdout=out)
    assert out.getvalue().splitlines() == [
        f"Created the bucket {env['S3_BUCKET']}.",
        f"The bucket {env['S3_BUCKET']} is there.",
    ]
    assert keys(env) == set()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    configured = studio_settings(monkeypatch, S3_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    settings.STORAGES = configured["STORAGES"]
    with pytest.raises(CommandError, match="Can't use the bucket"):
        call_command("ensure_bucket", stdout=out)

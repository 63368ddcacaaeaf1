"""Our media URLs: signed, expiring, served with HTTP Range so videos seek."""

from __future__ import annotations

import time

import pytest

from studio.generations import media
from studio.generations.views import parse_range
from tests.test_api import png


@pytest.fixture
def asset(alpha, alice):
    stored = media.store_image(png(300, 200), workspace_id=alpha.id)
    return media.make_asset(stored, workspace=alpha, user=alice, made_by="upload")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_signed_url_serves_the_file_to_anyone_holding_it(client, asset):
    r = client.get(media.signed_path(asset))
    assert r.status_code == 200
    assert r["Content-Type"] == "image/png" and r["Accept-Ranges"] == "bytes"
    assert body(r) == media.open_asset(asset)
    thumb = client.get(media.signed_path(asset, "thumb"))
    assert thumb["Content-Type"] == "image/jpeg"


def test_a_tampered_or_expired_url_is_404(client, asset):
    path = media.signed_path(asset)
    assert client.get(path[:-3] + "abc").status_code == 404
    assert client.get(path.replace("file.png", "thumb.jpg")).status_code == 404
    old = media.signed_path(asset, ttl=60, now=time.time() - 7200)
    assert client.get(old).status_code == 404
    assert client.get(f"/media/{asset.uid}/file.png").status_code == 404


def test_a_deleted_asset_is_not_served(client, asset):
    from django.utils import timezone

    path = media.signed_path(asset)
    asset.deleted_at = timezone.now()
    asset.save()
    assert client.get(path).status_code == 404


def test_range_requests_answer_206_with_the_slice(client, asset):
    whole = media.open_asset(asset)
    path = media.signed_path(asset)
    r = client.get(path, HTTP_RANGE="bytes=10-19")
    assert r.status_code == 206
    assert r["Content-Range"] == f"bytes 10-19/{len(whole)}"
    assert r["Content-Length"] == "10"
    assert body(r) == whole[10:20]
    r = client.get(path, HTTP_RANGE="bytes=-5")
    assert body(r) == whole[-5:]
    r = client.get(path, HTTP_RANGE=f"bytes=100-{len(whole) + 500}")
    assert body(r) == whole[100:]


def test_an_unsatisfiable_range_is_416_and_a_malformed_one_gets_the_file(client, asset):
    size = len(media.open_asset(asset))
    path = media.signed_path(asset)
    r = client.get(path, HTTP_RANGE=f"bytes={size}-")
    assert r.status_code == 416 and r["Content-Range"] == f"bytes */{size}"
    assert client.get(path, HTTP_RANGE="bytes=1-2,5-6").status_code == 200
    assert client.get(path, HTTP_RANGE="pages=1").status_code == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-0", (0, 0)),
        ("bytes=5-", (5, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=50-20", None),
        ("bytes=100-", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 100) == expected


def test_urls_are_stable_within_the_hour_for_browser_caching(asset):
    now = time.time()
    assert media.signed_path(asset, now=now) == media.signed_path(asset, now=now + 1)


def test_store_image_refuses_what_is_not_an_image(alpha):
    import io

    with pytest.raises(media.MediaError):
        media.store_image(io.BytesIO(b"GIF89a not really"), workspace_id=alpha.id)


def test_a_url_signed_before_the_key_was_rotated_still_works(client, asset, settings):
    path = media.signed_path(asset)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-key-" + "x" * 40
    assert client.get(path).status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get(path).status_code == 404


def test_a_signature_made_for_something_else_is_not_a_media_signature(client, asset):
    from urllib.parse import parse_qs, urlsplit

    from django.core import signing

    expires = parse_qs(urlsplit(media.signed_path(asset)).query)["e"][0]
    forged = signing.Signer().signature(f"{asset.uid}:file:{expires}")  # no media salt
    assert client.get(f"/media/{asset.uid}/file.png?e={expires}&s={forged}").status_code == 404

"""The safe downloader: what it fetches, and every way it refuses to."""

from __future__ import annotations

import io
import socket
import threading

import httpx
import pytest

from studio.lib import download
from studio.lib.download import DownloadError, check_url
from studio.providers.base import MediaOutput, ProviderError, fetch_output
from tests.fake_pixapi import mp4_bytes, png_bytes

PNG = png_bytes(8, 8)


@pytest.fixture
def loopback_allowed(settings):
    settings.PROVIDER_ALLOW_PRIVATE_URLS = True


def fetch(url: str, **options) -> tuple[io.BytesIO, object]:
    dest = io.BytesIO()
    return dest, download.download(url, dest, **options)


def test_it_downloads_an_image_with_its_type_and_size(fake, loopback_allowed):
    dest, fetched = fetch(fake.serve_file("a.png", PNG, "image/png"))
    assert dest.getvalue() == PNG
    assert (fetched.content_type, fetched.size) == ("image/png", len(PNG))


def test_it_downloads_a_video(fake, loopback_allowed):
    dest, fetched = fetch(fake.serve_file("a.mp4", mp4_bytes(), "video/mp4"))
    assert fetched.content_type == "video/mp4" and dest.getvalue() == mp4_bytes()


def test_it_sends_no_authorization_header(fake, loopback_allowed):
    fetch(fake.serve_file("a.png", PNG, "image/png"))
    (seen,) = fake.seen("GET", "/files/a.png")
    assert "Authorization" not in seen.headers and "authorization" not in seen.headers


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/a.png", "data:image/png;base64,AAAA", "gopher://x/"],
)
def test_it_refuses_schemes_other_than_http_and_https(url):
    with pytest.raises(DownloadError) as e:
        fetch(url)
    assert e.value.permanent and e.value.code == download.URL_REFUSED


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://10.1.2.3/a.png",
        "http://192.168.0.10/a.png",
        "http://172.16.0.1/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://[::1]/a.png",
        "http://[::ffff:127.0.0.1]/a.png",
        "http://[fe80::1]/a.png",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://localhost/a.png",
    ],
)
def test_it_refuses_private_loopback_link_local_and_reserved_addresses(url):
    with pytest.raises(DownloadError) as e:
        check_url(url, allow_private=False)
    assert e.value.permanent and e.value.code == download.URL_REFUSED
    assert "private or reserved" in e.value.message


def test_it_refuses_a_real_server_on_loopback_unless_allowed(fake):
    url = fake.serve_file("a.png", PNG, "image/png")
    with pytest.raises(DownloadError):
        fetch(url)
    assert fake.requests == []  # refused before connecting


def test_it_checks_every_address_a_host_resolves_to():
    def resolver(host, port):
        return ["93.184.216.34", "10.0.0.8"]

    with pytest.raises(DownloadError) as e:
        check_url("https://cdn.example/a.png", allow_private=False, resolver=resolver)
    assert e.value.code == download.URL_REFUSED


def test_it_refuses_credentials_in_the_url():
    with pytest.raises(DownloadError) as e:
        check_url("https://user:pw@cdn.example/a.png", allow_private=True)
    assert e.value.code == download.URL_REFUSED


def test_it_connects_to_the_address_it_checked_and_follows_redirects_it_checks_too():
    """DNS is asked once per hop; the request goes to that address with the original Host.
    A redirect to a host that resolves privately is refused before it is requested."""
    addresses = {"cdn.example": "93.184.216.34", "inside.example": "10.0.0.5"}
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(
            (request.url.host, request.headers["host"], request.headers.get("authorization"))
        )
        if request.headers["host"] == "cdn.example":
            return httpx.Response(302, headers={"Location": "http://inside.example/secret"})
        return httpx.Response(200, content=PNG, headers={"Content-Type": "image/png"})

    with pytest.raises(DownloadError) as e:
        fetch(
            "http://cdn.example/a.png",
            allow_private=False,
            transport=httpx.MockTransport(handler),
            resolver=lambda host, port: [addresses[host]],
        )
    assert e.value.code == download.URL_REFUSED
    assert seen == [("93.184.216.34", "cdn.example", None)]


def test_it_follows_a_redirect_on_the_same_server(fake, loopback_allowed):
    fake.serve_file("b.png", PNG, "image/png")
    url = fake.route("/moved", lambda seen: (302, {"Location": "/files/b.png"}, b""))
    dest, fetched = fetch(url)
    assert dest.getvalue() == PNG


def test_a_redirect_to_another_scheme_is_refused(fake, loopback_allowed):
    url = fake.route("/evil", lambda seen: (302, {"Location": "file:///etc/passwd"}, b""))
    with pytest.raises(DownloadError) as e:
        fetch(url)
    assert e.value.code == download.URL_REFUSED


def test_it_stops_after_a_few_redirects(fake, loopback_allowed):
    url = fake.route("/loop", lambda seen: (302, {"Location": "/loop"}, b""))
    with pytest.raises(DownloadError) as e:
        fetch(url)
    assert "redirects" in e.value.message
    assert len(fake.seen("GET", "/loop")) == download.MAX_REDIRECTS + 1


def test_a_declared_size_over_the_cap_is_refused_before_reading(fake, loopback_allowed):
    url = fake.serve_file("big.png", PNG, "image/png")
    with pytest.raises(DownloadError) as e:
        fetch(url, max_bytes=len(PNG) - 1)
    assert e.value.permanent and e.value.code == download.TOO_LARGE


def test_the_cap_counts_bytes_when_the_size_is_not_declared(fake, loopback_allowed, settings):
    settings.PROVIDER_MAX_DOWNLOAD_BYTES = 100_000
    chunks = [PNG] + [b"\0" * 50_000] * 10  # no Content-Length, more than the cap
    url = fake.route("/stream", lambda seen: (200, {"Content-Type": "image/png"}, iter(chunks)))
    dest = io.BytesIO(b"kept")
    dest.seek(4)
    with pytest.raises(DownloadError) as e:
        download.download(url, dest)
    assert e.value.code == download.TOO_LARGE
    assert dest.getvalue() == b"kept"  # what was written is taken back


def test_it_refuses_what_is_not_an_image_or_a_video(fake, loopback_allowed):
    url = fake.serve_file("page.html", b"<html>hi</html>", "text/html")
    with pytest.raises(DownloadError) as e:
        fetch(url)
    assert e.value.permanent and e.value.code == download.UNSUPPORTED_TYPE


def test_it_sniffs_an_octet_stream(fake, loopback_allowed):
    _, fetched = fetch(fake.serve_file("blob", PNG, "application/octet-stream"))
    assert fetched.content_type == "image/png"
    with pytest.raises(DownloadError):
        fetch(fake.serve_file("blob2", b"MZ\x90\0 an exe", "application/octet-stream"))


@pytest.mark.parametrize(("status", "permanent"), [(404, True), (403, True), (503, False)])
def test_http_errors_are_permanent_or_transient(fake, loopback_allowed, status, permanent):
    url = fake.route("/err", lambda seen: (status, {"Content-Type": "text/plain"}, b"no"))
    with pytest.raises(DownloadError) as e:
        fetch(url)
    assert e.value.permanent is permanent and e.value.status == status


def test_a_slow_server_times_out_as_a_transient_error(fake, loopback_allowed):
    release, answered = threading.Event(), threading.Event()

    def silent(seen):
        release.wait(30)  # says nothing until the test is over
        answered.set()
        return 200, {"Content-Type": "image/png"}, PNG

    url = fake.route("/slow", silent)
    with pytest.raises(DownloadError) as e:
        fetch(url, timeout=0.2)
    # It gave up on its own, while the server still hadn't answered.
    assert not answered.is_set()
    assert not e.value.permanent and e.value.code == download.FAILED
    release.set()


def test_a_refused_connection_is_a_transient_error(loopback_allowed):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(DownloadError) as e:
        fetch(f"http://127.0.0.1:{port}/a.png")
    assert not e.value.permanent and e.value.code == download.FAILED


def test_a_providers_inline_output_is_checked_like_a_download():
    dest = io.BytesIO()
    fetched = fetch_output(MediaOutput(data=PNG), dest)
    assert (fetched.content_type, dest.getvalue()) == ("image/png", PNG)
    with pytest.raises(ProviderError) as e:
        fetch_output(MediaOutput(data=b"hello", content_type="text/plain"), io.BytesIO())
    assert (e.value.code, e.value.permanent) == (download.UNSUPPORTED_TYPE, True)


def test_a_providers_file_output_is_read_only_inside_its_own_storage(tmp_path):
    mine, theirs = tmp_path / "provider" / "a.png", tmp_path / "elsewhere.png"
    mine.parent.mkdir()
    mine.write_bytes(PNG)
    theirs.write_bytes(PNG)
    dest = io.BytesIO()
    assert fetch_output(MediaOutput(path=str(mine)), dest, root=mine.parent).size == len(PNG)
    with pytest.raises(ProviderError) as e:
        fetch_output(MediaOutput(path=str(theirs)), io.BytesIO(), root=mine.parent)
    assert e.value.code == download.URL_REFUSED

"""Request bodies: the size limit holds before the bytes are read, and chunked bodies are read.

Before, a 27 MB multipart upload was accepted and a 100 MB body was read in full before a
400 (API_MAX_BODY_BYTES only bounded JSON), and a body sent with Transfer-Encoding: chunked
was read as empty. Here over raw sockets to the studio as `make run` serves it (gunicorn), so
what the server reads and when it answers is what a client sees.
"""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from studio.accounts.models import ApiKey
from studio.credits import ledger
from studio.generations.models import Job

MB = 1024 * 1024


@pytest.fixture
def key(transactional_db, studio, alice, alpha):
    ledger.grant(alpha, 50)
    _, raw = ApiKey.create(user=alice, workspace=alpha, name="bodies")
    return raw


def connect(studio) -> socket.socket:
    url = urlsplit(studio.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    return sock


def head(path: str, key: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {key}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(sock: socket.socket) -> tuple[int, dict]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, json.loads(response.read())


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_a_body_declared_too_large_is_refused_before_a_byte_of_it_is_sent(studio, key):
    with connect(studio) as sock:
        sock.sendall(
            head(
                "/v1/images/edits",
                key,
                "Content-Type: multipart/form-data; boundary=x",
                f"Content-Length: {100 * MB}",
            )
        )
        status, body = answer(sock)  # nothing of the 100 MB was sent
    assert status == 413
    assert body["error"]["code"] == "request_too_large"
    assert f"{settings.API_MAX_BODY_BYTES:,} bytes" in body["error"]["message"]


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(studio, key):
    limit = settings.API_MAX_BODY_BYTES
    with connect(studio) as sock:
        sock.sendall(
            head(
                "/v1/images/generations",
                key,
                "Content-Type: application/json",
                "Transfer-Encoding: chunked",
            )
        )
        sent, past = 0, limit + 64 * 1024  # a little past the limit, in pieces of up to 1 MB
        while sent < past:
            piece = b" " * min(MB, past - sent)
            sock.sendall(chunk(piece))
            sent += len(piece)
        # No last chunk: a server that waited for the end of the body would never answer.
        status, body = answer(sock)
    assert status == 413 and body["error"]["code"] == "request_too_large"
    assert not Job.objects.exists()


def test_a_chunked_body_within_the_limit_is_read(studio, key):
    payload = json.dumps({"model": "nano-banana", "prompt": "a kite", "size": "512"}).encode()
    with connect(studio) as sock:
        sock.sendall(
            head(
                "/v1/async/images/generations",
                key,
                "Content-Type: application/json",
                "Transfer-Encoding: chunked",
            )
        )
        for i in range(0, len(payload), 7):  # in small pieces, as a stream sends it
            sock.sendall(chunk(payload[i : i + 7]))
        sock.sendall(b"0\r\n\r\n")
        status, body = answer(sock)
    assert status == 200, body
    assert Job.objects.get(public_id=body["id"]).prompt == "a kite"


def test_a_declared_length_over_the_limit_is_refused_without_reading(client, alpha, alice):
    """In-process: the body is never read at all (reading it would fail this test)."""
    _, raw = ApiKey.create(user=alice, workspace=alpha, name="bodies")

    class Unreadable:
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = read

    r = client.generic(
        "POST",
        "/v1/images/edits",
        b"",
        content_type="multipart/form-data; boundary=x",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        CONTENT_LENGTH=str(settings.API_MAX_BODY_BYTES + 1),
        **{"wsgi.input": Unreadable()},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


def test_a_chunked_body_a_server_passed_on_undecoded_is_refused(client, alpha, alice):
    _, raw = ApiKey.create(user=alice, workspace=alpha, name="bodies")
    r = client.post(
        "/v1/images/generations",
        b"",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_TRANSFER_ENCODING="chunked",
        CONTENT_LENGTH="",
    )
    assert r.status_code == 400 and "send a Content-Length" in r.json()["error"]["message"]

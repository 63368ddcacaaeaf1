"""Fetch media from a URL we did not write, safely, into a file of ours.

Used for provider results (their URLs expire, so they are copied at once) and, by the API, for
image URLs users send (`input_image`). The guard:

- only http and https, no credentials in the URL;
- the host is resolved and every address checked: loopback, private, link-local, reserved,
  multicast and unspecified addresses are refused unless PROVIDER_ALLOW_PRIVATE_URLS (tests,
  a studio chained to another on one host), so a URL can't reach our own network;
- the connection goes to the address that was checked (the URL is pinned to it, with the
  original Host header and TLS name), so a second DNS answer can't swap in another one;
- redirects are followed by hand, at most MAX_REDIRECTS, each hop checked the same way;
- a fresh client with no Authorization header: a key never travels to another host;
- a size cap (PROVIDER_MAX_DOWNLOAD_BYTES): Content-Length is checked first and the bytes are
  counted while streaming; a per-read timeout and an overall deadline;
- the content must be an image or a video (by Content-Type, or sniffed when the server only
  says application/octet-stream).

Every refusal is a DownloadError whose message is safe to show. `copy_data` and `copy_file`
apply the same size and type checks to bytes a provider returned inline or wrote to a file.
"""

from __future__ import annotations

import ipaddress
import mimetypes
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
from django.conf import settings

from studio.lib.transactions import outside_transaction

MAX_REDIRECTS = 3
CHUNK = 64 * 1024
ACCEPT = ("image/", "video/")
USER_AGENT = "pixapi-studio/0.1 (media fetch)"

# Codes of DownloadError, for callers that tell them apart.
URL_REFUSED = "url_refused"
TOO_LARGE = "file_too_large"
UNSUPPORTED_TYPE = "unsupported_media_type"
FAILED = "download_failed"

Resolver = Callable[[str, int], list[str]]


class DownloadError(Exception):
    """A download was refused or failed. `permanent` is True when trying again will fail the
    same way (refused, too large, the wrong type, gone); `message` is safe to show."""

    def __init__(self, message: str, *, code: str, permanent: bool, status: int | None = None):
        super().__init__(message)
        self.message, self.code, self.permanent, self.status = message, code, permanent, status


@dataclass
class Fetched:
    """What was copied: its media type (declared or sniffed) and its size in bytes."""

    content_type: str
    size: int


def resolve(host: str, port: int) -> list[str]:
    """Return every address `host` resolves to (the system resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DownloadError(
            f"The host {host!r} could not be found.", code=FAILED, permanent=False
        ) from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_public(address: str) -> bool:
    """Return True when `address` is a global unicast address (not ours, not special)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(
    url: str | httpx.URL, *, allow_private: bool, resolver: Resolver = resolve
) -> tuple[httpx.URL, str]:
    """Return the parsed URL and the checked address to connect to; raise DownloadError
    (permanent) when the URL is refused."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise _refused("That is not a valid URL.") from exc
    if parsed.scheme not in ("http", "https"):
        raise _refused(f"Only http and https URLs can be fetched, not {parsed.scheme or 'this'}.")
    if not parsed.host:
        raise _refused("The URL has no host.")
    if parsed.userinfo:
        raise _refused("URLs with a user name or password are not fetched.")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        ipaddress.ip_address(parsed.host)
        addresses = [parsed.host]
    except ValueError:
        addresses = resolver(parsed.host, port)
    if not addresses:
        raise DownloadError(
            f"The host {parsed.host!r} could not be found.", code=FAILED, permanent=False
        )
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise _refused(
                    f"{parsed.host} is a private or reserved address; only public "
                    "addresses are fetched."
                )
    return parsed, addresses[0]


def _refused(message: str) -> DownloadError:
    return DownloadError(message, code=URL_REFUSED, permanent=True)


def sniff(head: bytes) -> str | None:
    """Return the media type the first bytes of a file show, for the kinds we accept."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def _media_type(declared: str | None, head: bytes, accept: tuple[str, ...]) -> str:
    media_type = (declared or "").split(";", 1)[0].strip().lower()
    if media_type in ("", "application/octet-stream", "binary/octet-stream"):
        media_type = sniff(head) or media_type
    if not media_type.startswith(accept):
        raise DownloadError(
            f"The file is {media_type or 'of an unknown type'}, not an image or a video.",
            code=UNSUPPORTED_TYPE,
            permanent=True,
        )
    return media_type


def _too_large(limit: int) -> DownloadError:
    return DownloadError(
        f"The file is larger than the {limit:,} bytes we accept (PROVIDER_MAX_DOWNLOAD_BYTES).",
        code=TOO_LARGE,
        permanent=True,
    )


class _Sink:
    """Write into `dest`, counting; undo what was written when the copy fails."""

    def __init__(self, dest: IO[bytes], limit: int):
        self.dest, self.limit, self.size = dest, limit, 0
        self.start = dest.tell() if dest.seekable() else None

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise _too_large(self.limit)
        self.dest.write(chunk)

    def undo(self) -> None:
        if self.start is not None:
            self.dest.seek(self.start)
            self.dest.truncate()


def download(
    url: str,
    dest: IO[bytes],
    *,
    max_bytes: int | None = None,
    allow_private: bool | None = None,
    timeout: float = 30.0,
    deadline: float = 300.0,
    accept: tuple[str, ...] = ACCEPT,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver = resolve,
) -> Fetched:
    """Copy the image or video at `url` into the open binary file `dest`; return its type and
    size. `max_bytes` and `allow_private` default to PROVIDER_MAX_DOWNLOAD_BYTES and
    PROVIDER_ALLOW_PRIVATE_URLS; `timeout` bounds each network wait, `deadline` the whole copy.

    Raise DownloadError: permanent when refused (scheme, address, size, type) or gone (4xx);
    transient for connection trouble, timeouts and 5xx. On failure `dest` is put back as it
    was when it can seek.
    """
    outside_transaction("downloading a URL")
    limit = settings.PROVIDER_MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    if allow_private is None:
        allow_private = settings.PROVIDER_ALLOW_PRIVATE_URLS
    give_up_at = time.monotonic() + deadline
    sink = _Sink(dest, limit)
    client = httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment: we connect where we checked
        transport=transport,
        headers={"User-Agent": USER_AGENT},
    )
    try:
        with client:
            current: httpx.URL | str = url
            for _hop in range(MAX_REDIRECTS + 1):
                target, address = check_url(current, allow_private=allow_private, resolver=resolver)
                with _get(client, target, address) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise DownloadError(
                                "The server redirected without saying where.",
                                code=FAILED,
                                permanent=True,
                            )
                        current = target.join(location)
                        continue
                    return _receive(response, sink, limit, accept, give_up_at)
            raise DownloadError(
                f"Too many redirects (more than {MAX_REDIRECTS}).", code=FAILED, permanent=True
            )
    except DownloadError:
        sink.undo()
        raise
    except httpx.TimeoutException as exc:
        sink.undo()
        raise DownloadError("The download timed out.", code=FAILED, permanent=False) from exc
    except httpx.HTTPError as exc:
        sink.undo()
        raise DownloadError(
            "The download failed: the server could not be reached or hung up.",
            code=FAILED,
            permanent=False,
        ) from exc


@contextmanager
def _get(client: httpx.Client, target: httpx.URL, address: str) -> Iterator[httpx.Response]:
    """Stream GET `target` from the checked `address`, keeping the name for Host and TLS."""
    pinned = target.copy_with(host=address)
    headers = {"Host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
    response = client.send(request, stream=True)
    try:
        yield response
    finally:
        response.close()


def _receive(
    response: httpx.Response, sink: _Sink, limit: int, accept: tuple[str, ...], give_up_at: float
) -> Fetched:
    status = response.status_code
    if status >= 400 or status < 200:
        transient = status >= 500 or status in (408, 429)
        raise DownloadError(
            f"The file could not be fetched (HTTP {status}).",
            code=FAILED,
            permanent=not transient,
            status=status,
        )
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    media_type = None
    for chunk in response.iter_bytes(CHUNK):
        if media_type is None:
            media_type = _media_type(response.headers.get("content-type"), chunk, accept)
        sink.write(chunk)
        if time.monotonic() > give_up_at:
            raise DownloadError("The download took too long.", code=FAILED, permanent=False)
    if media_type is None:
        raise DownloadError("The server sent an empty file.", code=FAILED, permanent=False)
    return Fetched(content_type=media_type, size=sink.size)


def copy_data(
    data: bytes, dest: IO[bytes], *, declared: str | None = None, max_bytes: int | None = None
) -> Fetched:
    """Write inline bytes into `dest` after the checks `download` makes (size, media type)."""
    limit = settings.PROVIDER_MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    sink = _Sink(dest, limit)
    try:
        media_type = _media_type(declared, data[:64], ACCEPT)
        sink.write(data)
    except DownloadError:
        sink.undo()
        raise
    return Fetched(content_type=media_type, size=sink.size)


def copy_file(
    path: str | Path,
    dest: IO[bytes],
    *,
    root: Path | None,
    declared: str | None = None,
    max_bytes: int | None = None,
) -> Fetched:
    """Copy the file at `path` into `dest` after the checks `download` makes. It is only read
    when it lies inside `root` (a provider's own storage)."""
    outside_transaction("copying a file")
    limit = settings.PROVIDER_MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes
    resolved = Path(path).resolve()
    if root is None or not resolved.is_relative_to(Path(root).resolve()):
        raise _refused("That file is not one of the provider's outputs.")
    if not resolved.is_file():
        raise DownloadError("The output file is gone.", code=FAILED, permanent=True, status=404)
    if resolved.stat().st_size > limit:
        raise _too_large(limit)
    declared = declared or mimetypes.guess_type(resolved.name)[0]
    sink = _Sink(dest, limit)
    media_type = None
    try:
        with resolved.open("rb") as source:
            while chunk := source.read(CHUNK):
                media_type = media_type or _media_type(declared, chunk, ACCEPT)
                sink.write(chunk)
        if media_type is None:
            raise DownloadError("The output file is empty.", code=FAILED, permanent=True)
    except DownloadError:
        sink.undo()
        raise
    return Fetched(content_type=media_type, size=sink.size)

"""A small Pixapi on 127.0.0.1 for contract tests: the documented routes and shapes of
../shared/API.md, served over real HTTP by a thread.

- Sync images answer URLs of real PNGs it serves under /files/ (or b64_json when asked).
- A video submit makes a task that reports `processing` on the first poll and `completed`
  with `result.data[0].url` (a real 1 s MP4 it serves) on the next. `deliver_video(data,
  content_type, claimed_duration)` makes tasks deliver something else and claim a duration
  (`result.duration`), for the tests that charge what was really delivered.
- `fail_next(method, path, status, body, headers)` makes the next matching request fail (or
  answer anything else), for the error scenarios in either documented error shape.
- `route(path, handler)` adds any other response (the download tests use it).
- `requests` records what arrived: method, path, headers and the parsed body.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

API_KEY = "sk-test-0123456789abcdef"


def openai_error(status: int, type_: str, message: str, code=None) -> tuple[int, dict, bytes]:
    """The error shape we emit (OpenAI's)."""
    body = {
        "error": {
            "message": message,
            "type": type_,
            "param": None,
            "code": code or type_,
            "request_id": "req_fake",
        }
    }
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def pixapi_error(status: int, code, message: str) -> tuple[int, dict, bytes]:
    """The upstream's other error shape: a numeric or string code, no type."""
    body = {"error": {"code": code, "message": message}}
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def png_bytes(width: int, height: int, colour=(30, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


_mp4_cache: dict[int, bytes] = {}


def mp4_bytes(seconds: int = 1) -> bytes:
    """A real, tiny H.264 MP4 of `seconds` (each length rendered once per test session)."""
    if seconds not in _mp4_cache:
        import tempfile
        from pathlib import Path

        from studio.providers.local.video import render_video

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "clip.mp4"
            render_video(prompt="fake", width=64, height=36, duration=seconds, out_path=out)
            _mp4_cache[seconds] = out.read_bytes()
    return _mp4_cache[seconds]


def parse_multipart(content_type: str, raw: bytes) -> dict:
    """Return {"fields": {name: value}, "files": [(name, filename, bytes, type)]} of a form."""
    message = message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw, policy=HTTP
    )
    fields, files = {}, []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        if filename is None:
            fields[name] = payload.decode()
        else:
            files.append((name, filename, payload, part.get_content_type()))
    return {"fields": fields, "files": files}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: object = None  # dict for JSON, {"fields": {...}, "files": [(name, filename, bytes)]}


@dataclass
class FakePixapi:
    api_key: str = API_KEY
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    tasks: dict[str, dict] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    routes: dict[str, Callable] = field(default_factory=dict)
    failures: list[tuple[str, str, tuple[int, dict, bytes]]] = field(default_factory=list)
    # What finished video tasks deliver: (bytes, content type, claimed duration or None).
    video: tuple[bytes, str, float | None] | None = None

    def start(self) -> FakePixapi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve_file(self, name: str, data: bytes, content_type: str) -> str:
        self.files[name] = (content_type, data)
        return f"{self.url}/files/{name}"

    def route(self, path: str, handler: Callable) -> str:
        """Answer GET `path` with handler(seen) -> (status, headers, body bytes or chunks)."""
        self.routes[path] = handler
        return f"{self.url}{path}"

    def fail_next(self, method: str, path: str, response: tuple[int, dict, bytes]) -> None:
        self.failures.append((method, path, response))

    def deliver_video(
        self, data: bytes, content_type: str = "video/mp4", claimed_duration: float | None = None
    ) -> None:
        """Make finished video tasks serve `data` and claim `claimed_duration` seconds."""
        self.video = (data, content_type, claimed_duration)

    def seen(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # --- the server side --------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = handler.path.split("?", 1)[0]
        seen = Seen(method, path, dict(handler.headers.items()), self._parse(handler, raw))
        self.requests.append(seen)
        for i, (m, p, response) in enumerate(self.failures):
            if m == method and p == path:
                del self.failures[i]
                return self._send(handler, *response)
        if path in self.routes:
            return self._send(handler, *self.routes[path](seen))
        if path.startswith("/files/") and path[7:] in self.files:
            content_type, data = self.files[path[7:]]
            return self._send(handler, 200, {"Content-Type": content_type}, data)
        if path.startswith("/v1/"):
            if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
                return self._send(
                    handler, *openai_error(401, "unauthorized", "Missing or invalid API key.")
                )
            return self._send(handler, *self._api(method, path, seen.body))
        return self._send(handler, *pixapi_error(404, 404, "Not found."))

    def _parse(self, handler, raw: bytes):
        content_type = handler.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            return json.loads(raw)
        if content_type.startswith("multipart/form-data"):
            return parse_multipart(content_type, raw)
        return raw

    def _send(self, handler, status: int, headers: dict, body) -> None:
        handler.send_response(status)
        headers = {"x-request-id": "req_fake", **headers}
        if isinstance(body, bytes):
            headers.setdefault("Content-Length", str(len(body)))
            chunks = [body]
        else:
            chunks = body  # an iterable: sent as it comes, then the connection closes
            handler.close_connection = True
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        try:
            for chunk in chunks:
                handler.wfile.write(chunk)
                handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _json(self, status: int, body: dict) -> tuple[int, dict, bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _api(self, method: str, path: str, body) -> tuple[int, dict, bytes]:
        if (method, path) == ("POST", "/v1/images/generations"):
            return self._images(body, body.get("n", 1), body.get("size", "1024x1024"))
        if (method, path) == ("POST", "/v1/images/edits"):
            fields = body["fields"]
            return self._images(fields, int(fields.get("n", 1)), fields.get("size", "1024x1024"))
        if (method, path) == ("POST", "/v1/async/videos/generations"):
            if "duration" not in body:
                return openai_error(400, "invalid_request_error", "duration is required.")
            task_id = f"task_fake{len(self.tasks) + 1}"
            self.tasks[task_id] = {"polls": 0, "request": body}
            return self._json(
                200,
                {
                    "status": "submitted",
                    "id": task_id,
                    "progress": 0,
                    "created_at": int(time.time()),
                    "model": body.get("model"),
                },
            )
        if method == "GET" and path.startswith("/v1/tasks/"):
            task_id = path.rsplit("/", 1)[1]
            task = self.tasks.get(task_id)
            if task is None:
                return pixapi_error(404, 404, f"Task {task_id} not found.")
            task["polls"] += 1
            if task["polls"] == 1:
                return self._json(200, {"id": task_id, "status": "processing", "progress": 50})
            data, content_type, claimed = self.video or (mp4_bytes(), "video/mp4", None)
            url = self.serve_file(f"{task_id}.mp4", data, content_type)
            result = {"data": [{"url": url}]}
            if claimed is not None:
                result["duration"] = claimed
            return self._json(
                200,
                {
                    "id": task_id,
                    "status": "completed",
                    "progress": 100,
                    "result": result,
                    "usage": {"credits": "5.00"},
                },
            )
        if (method, path) == ("GET", "/v1/models"):
            return self._json(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": "veo", "object": "model", "created": 1, "owned_by": "pixapi"},
                        {"id": "gpt-image-2", "object": "model", "created": 1, "owned_by": "x"},
                    ],
                },
            )
        return openai_error(404, "not_found", f"No route {method} {path}.")

    def _images(self, body: dict, n: int, size: str) -> tuple[int, dict, bytes]:
        width, height = (int(v) for v in size.split("x"))
        data = []
        for i in range(int(n)):
            image = png_bytes(width, height, (40 * i % 255, 120, 200))
            if body.get("response_format") == "b64_json":
                data.append({"b64_json": base64.b64encode(image).decode()})
            else:
                name = f"img_{len(self.files) + 1}.png"
                data.append({"url": self.serve_file(name, image, "image/png")})
        return self._json(
            200, {"created": int(time.time()), "data": data, "usage": {"credits": "4.00"}}
        )

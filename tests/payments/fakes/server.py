"""A tiny threaded HTTP server on 127.0.0.1 (port 0) that hands each request to a fake gateway.

A fake's ``handle(request)`` returns a ``Response`` (optionally with ``delay`` seconds before it is
written, to outlast a client timeout) or raises ``Drop`` to close the connection without answering.
"""

from __future__ import annotations

import json
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # without the query string
    target: str  # path with query string, as sent
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (the work is already done)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


class Drop(Exception):
    """Close the connection without writing an answer."""


class App(Protocol):
    def handle(self, request: Request) -> Response: ...


@dataclass
class Faults:
    """Switchable misbehaviour for the next refund request(s).

    slow: seconds to sleep before answering a refund that *was* made (longer than the client timeout);
    fail_5xx: answer the next n refund requests with ``fail_status`` before doing anything;
    decline: answer the next refund with the gateway's refusal (value: a gateway-specific code or True);
    drop_after_refund: for the next n refunds, make the refund, then close the connection unanswered.
    """

    slow: float = 0.0
    fail_5xx: int = 0
    fail_status: int = 503
    decline: str | bool | None = None
    drop_after_refund: int = 0

    def take_5xx(self) -> bool:
        if self.fail_5xx > 0:
            self.fail_5xx -= 1
            return True
        return False

    def take_decline(self) -> str | bool | None:
        decline, self.decline = self.decline, None
        return decline

    def take_drop(self) -> bool:
        if self.drop_after_refund > 0:
            self.drop_after_refund -= 1
            return True
        return False


class FakeServer:
    def __init__(self, app: App) -> None:
        self.app = app
        self.errors: list[str] = []  # tracebacks of crashes inside the fake (tests assert it stays empty)
        self.requests: list[Request] = []
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep tests quiet
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    target=self.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                server.requests.append(request)
                try:
                    response = server.app.handle(request)
                except Drop:
                    self.close_connection = True
                    return
                except Exception:
                    server.errors.append(traceback.format_exc())
                    response = Response(500, b"fake crashed", {"Content-Type": "text/plain"})
                if response.delay and server._stopping.wait(response.delay):
                    self.close_connection = True
                    return
                try:
                    self.send_response(response.status)
                    for name, value in response.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(response.body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout) before we answered
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-gateway", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

"""Shared HTTP plumbing: deciding whether a failed request could have reached the gateway."""

from __future__ import annotations

import http.client
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
)

Timeout = float | tuple[float, float]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes/contexts, and exceptions tucked in args/reason (urllib3 MaxRetryError)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args):
            if isinstance(nxt, BaseException):
                stack.append(nxt)


_AFTER_SENDING = (
    requests.exceptions.ReadTimeout,
    requests.exceptions.ChunkedEncodingError,
    ReadTimeoutError,
    ProtocolError,
    http.client.RemoteDisconnected,
    http.client.IncompleteRead,
    ConnectionResetError,
    BrokenPipeError,
)
_BEFORE_SENDING = (
    requests.exceptions.ConnectTimeout,
    ssl.SSLCertVerificationError,
    requests.exceptions.ProxyError,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    NewConnectionError,
    ConnectTimeoutError,
    ProxyError,
    ConnectionRefusedError,
)


def never_sent(exc: BaseException) -> bool:
    """True when the request certainly did not reach the gateway (no connection was made).

    Connection refused, DNS failure, connect timeout, proxy failure and an untrusted TLS certificate happen
    before a single byte of the request is written. Everything else (read timeout, connection reset or
    closed while waiting for the answer, a truncated body) may have happened after the gateway acted.
    """
    items = list(_chain(exc))
    if any(isinstance(item, _AFTER_SENDING) for item in items):
        return False
    return any(isinstance(item, _BEFORE_SENDING) for item in items)


def describe(exc: BaseException) -> str:
    """A short human description of a transport failure (innermost cause), without URLs' query strings."""
    items = list(_chain(exc))
    inner = items[-1] if items else exc
    text = str(inner) or type(inner).__name__
    return f"{type(inner).__name__}: {text.split('?', 1)[0][:300]}"


class ThreadLocalSession:
    """One ``requests.Session`` per thread (sessions are not documented as thread-safe)."""

    def __init__(self, factory: Callable[[], requests.Session] = requests.Session) -> None:
        self._factory = factory
        self._local = threading.local()

    def get(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._factory()
            self._local.session = session
        return session

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self.get().request(method, url, **kwargs)


def session_from(session: requests.Session | None) -> Any:
    """Use the injected session as is, or a per-thread default."""
    return session if session is not None else ThreadLocalSession()


def retry_after(headers: Any) -> float | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None

"""Version stamps in the shared cache: how every process (on every machine) learns that something it keeps in
memory has changed elsewhere (a policy published, a holiday schedule recorded).

A stamp is a random string under a key of the shared cache (CACHE_URL; core.deployment says why it must be
shared). A process keeps what it computed together with the stamp it saw, and computes again when the stamp
differs. `stamp_bump` writes a new stamp at once and again when the caller's transaction commits, so that no
process keeps what it read between the two. A stamp the cache lost (evicted, cleared) is replaced by a new one,
which makes every process compute again: losing it costs time, never correctness.

Within a web request (`StampSnapshotMiddleware`, through `stamps_snapshot`) the stamps are read once: the first
`stamp` call reads every known stamp (`stamp_key`) in one cache round trip, and the request goes on with those
values (a change elsewhere is seen by the next request; one made by this request is seen at once). Outside a
request (the worker, commands) each `stamp` call reads the cache.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache
from django.db import transaction

#: Every stamp key the code reads (stamp_key): what a request's snapshot fetches at once.
KNOWN: set[str] = set()
_snapshot: ContextVar[dict[str, str] | None] = ContextVar("refunddesk_stamps", default=None)


def stamp_key(key: str) -> str:
    """Declare a stamp key (module level, next to what it guards); returns it."""
    KNOWN.add(key)
    return key


@contextmanager
def stamps_snapshot() -> Iterator[None]:
    """Within: each stamp is read from the cache at most once, all known ones in one round trip."""
    token = _snapshot.set({})
    try:
        yield
    finally:
        _snapshot.reset(token)


def stamp(key: str) -> str:
    """The current stamp under `key` (one cache read; inside `stamps_snapshot` the request's value), made if
    the cache has none. "" when the cache keeps nothing (DummyCache): callers then compute every time."""
    snapshot = _snapshot.get()
    if snapshot is not None:
        if not snapshot:
            snapshot.update(cache.get_many(sorted(KNOWN | {key})))
            snapshot[""] = ""  # read: not again in this request
        value = snapshot.get(key)
        if value is not None:
            return value
    value = cache.get(key)
    if value is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        value = cache.get(key) or ""
    if snapshot is not None:
        snapshot[key] = value
    return value


def stamp_bump(key: str, *, local=None) -> None:
    """Something under `key` changed: a new stamp now and once the current transaction commits. `local` (no
    arguments) is called each time too, to drop this process's copy at once."""

    def bump() -> None:
        value = uuid.uuid4().hex
        cache.set(key, value, timeout=None)
        snapshot = _snapshot.get()
        if snapshot is not None:  # this request sees its own change
            snapshot[key] = value
        if local is not None:
            local()

    bump()
    transaction.on_commit(bump)


class StampSnapshotMiddleware:
    """Each request reads the stamps once (`stamps_snapshot`): one cache round trip instead of one per use."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with stamps_snapshot():
            return self.get_response(request)

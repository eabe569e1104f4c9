"""Version stamps in the shared cache: how every process (on every machine) learns that something it keeps in
memory has changed elsewhere (a policy published, a holiday schedule recorded).

A stamp is a random string under a key of the shared cache (CACHE_URL; core.deployment says why it must be
shared). A process keeps what it computed together with the stamp it saw, and computes again when the stamp
differs. `stamp_bump` writes a new stamp at once and again when the caller's transaction commits, so that no
process keeps what it read between the two. A stamp the cache lost (evicted, cleared) is replaced by a new one,
which makes every process compute again: losing it costs time, never correctness.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.db import transaction


def stamp(key: str) -> str:
    """The current stamp under `key` (one cache read), made if the cache has none. "" when the cache keeps
    nothing (DummyCache): callers then compute every time."""
    value = cache.get(key)
    if value is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        value = cache.get(key) or ""
    return value


def stamp_bump(key: str, *, local=None) -> None:
    """Something under `key` changed: a new stamp now and once the current transaction commits. `local` (no
    arguments) is called each time too, to drop this process's copy at once."""

    def bump() -> None:
        cache.set(key, uuid.uuid4().hex, timeout=None)
        if local is not None:
            local()

    bump()
    transaction.on_commit(bump)

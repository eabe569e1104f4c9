"""Telling a database outage from a bug, and waiting one out.

A database outage is something that passes: a SQLite write lock held longer than the busy timeout, a
PostgreSQL server that refuses connections, restarts or is out of connections, a lock or statement timeout.
The web answers it with 503 and `Retry-After` (refunddesk.core.middleware); the worker waits it out with
backoff and carries on (refunddesk.core.worker). Anything else (a missing table, a bad query) is a bug and
stays a 500 / a failed task.

Waiting uses tenacity (exponential backoff with jitter) rather than a loop of our own.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, close_old_connections
from tenacity import Retrying, retry_if_exception, stop_never, stop_when_event_set, wait_exponential_jitter

log = logging.getLogger("refunddesk.outages")
T = TypeVar("T")

# SQLite's primary result codes that mean "not now" rather than "wrong" (https://sqlite.org/rescode.html):
# BUSY and LOCKED (another connection holds the lock past the busy timeout), READONLY (the file or its
# disk became read-only), IOERR, FULL (disk full), CANTOPEN (the file or its folder is gone), PROTOCOL
# (a WAL locking race). SQLITE_ERROR (no such table, syntax) is a bug and is not among them.
_SQLITE_OUTAGE_CODES = frozenset({
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL,
})

# Backoff while the database is away: 0.5 s, 1 s, 2 s, 4 s, then every 10 s at most, each with up to
# 1 s of jitter so that several workers do not all come back at the same instant.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database is unavailable for now (see the module docstring), False for
    anything else, bugs included.

    Django wraps driver errors in django.db.OperationalError / InterfaceError with the driver's error as
    `__cause__`. For SQLite the driver error's result code decides (Python 3.11's `sqlite_errorcode`; the
    message "database is locked" when there is none); for PostgreSQL every OperationalError (connection
    refused or lost, too many connections, lock_timeout, statement_timeout, deadlock, serialization
    failure) and InterfaceError (connection already closed) counts: psycopg files programming mistakes
    under other classes."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    cause = exc.__cause__
    if isinstance(cause, sqlite3.Error):
        code = getattr(cause, "sqlite_errorcode", None)
        if code is None:
            return "locked" in str(cause).lower()
        return (code & 0xFF) in _SQLITE_OUTAGE_CODES
    return True


def database_wait(probe: Callable[[], T], *, what: str, stop: threading.Event | None = None) -> T:
    """Call `probe` until it returns, waiting with exponential backoff (0.5 s doubling to 10 s, jittered)
    after each try that fails with a database outage; return what it returned.

    `probe` should touch the database (a heartbeat, say) so that its success means the database is back.
    Django's connections of this thread that errors left unusable are closed before each try. Errors
    that are not an outage propagate at once. With `stop`, waiting ends as soon as it is set: the last
    try's error is raised. `what` names the waiter in the log (one warning per try)."""

    def before_sleep(state) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("%s: database unavailable (%s); trying again in %.1f s (try %d)", what, exc,
                    state.upcoming_sleep, state.attempt_number)

    def probe_once() -> T:
        close_old_connections()
        return probe()

    options = {"sleep": stop.wait, "stop": stop_when_event_set(stop)} if stop is not None else {"stop": stop_never}
    retrying = Retrying(
        retry=retry_if_exception(database_unavailable),
        wait=wait_exponential_jitter(initial=BACKOFF_FIRST, max=BACKOFF_MAX, jitter=1.0),
        before_sleep=before_sleep,
        reraise=True,
        **options,
    )
    return retrying(probe_once)

"""What /healthz, /healthz/ready and /healthz/live report: reads only, each bounded in time.

- the database: reachable (a query answers) and writable (the write lock can be taken: SQLite's
  `BEGIN IMMEDIATE`; PostgreSQL commits a transaction that was given an id, which a read-only server or
  replica refuses), waiting at most PROBE_TIMEOUT for a lock;
- the worker: age of the freshest heartbeat of `refunddesk worker`, and how many workers beat within
  refunddesk.core.worker.DEAD_AFTER;
- the queue (django-tasks-db): tasks ready to run now, scheduled for later and running, and how long the
  oldest ready one has waited.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from refunddesk.core.models import WorkerHeartbeat

PROBE_TIMEOUT = 0.5  # seconds a probe waits for a database lock
QUEUE_BEHIND = dt.timedelta(minutes=5)  # a ready task older than this is a warning


def database_check(*, timeout: float = PROBE_TIMEOUT) -> dict[str, Any]:
    """Whether the default database answers and accepts writes, without waiting long for a lock.

    Returns {"vendor": "sqlite"|"postgresql", "reachable": bool, "writable": bool, "ms": int (time taken),
    "error": str (only when one of the two is false)}. Never raises for a database error. `timeout` is in
    seconds (SQLite's busy timeout, PostgreSQL's lock and statement timeouts, for the probe only)."""
    started = time.monotonic()
    result: dict[str, Any] = {"vendor": connection.vendor, "reachable": False, "writable": False}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        result["reachable"] = True
        _write_probe(timeout)
        result["writable"] = True
    except DatabaseError as exc:
        result["error"] = f"{type(exc.__cause__ or exc).__name__}: {str(exc).strip()[:300]}"
    result["ms"] = round((time.monotonic() - started) * 1000)
    return result


def _write_probe(timeout: float) -> None:
    ms = max(int(timeout * 1000), 1)
    if connection.vendor == "sqlite":
        if connection.in_atomic_block:  # the transaction we are in took the write lock at BEGIN IMMEDIATE
            return
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            previous = int(cursor.fetchone()[0])
            cursor.execute(f"PRAGMA busy_timeout = {ms}")
            try:
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute("ROLLBACK")
            finally:
                cursor.execute(f"PRAGMA busy_timeout = {previous}")
        return
    if connection.in_atomic_block:  # SET LOCAL would outlive the probe in the caller's transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current()")
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = {ms}")
        cursor.execute(f"SET LOCAL statement_timeout = {ms}")
        cursor.execute("SELECT txid_current()")


def worker_check(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """{"heartbeat_age_seconds": float or None (no worker ever beat), "alive": int (workers that beat within
    DEAD_AFTER)}. Raises django.db errors."""
    from refunddesk.core.worker import DEAD_AFTER

    now = now or timezone.now()
    beats = WorkerHeartbeat.objects.aggregate(
        latest=Max("seen_at"), alive=Count("pk", filter=Q(seen_at__gte=now - DEAD_AFTER)))
    latest = beats["latest"]
    return {
        "heartbeat_age_seconds": round(max((now - latest).total_seconds(), 0.0), 1) if latest else None,
        "alive": beats["alive"],
    }


def queue_check(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """{"ready": int (tasks due now), "scheduled": int (waiting for their run_after), "running": int,
    "oldest_ready_age_seconds": float or None (how long the oldest due task has waited: since it was
    queued, or since its run_after)}. Raises django.db errors."""
    now = now or timezone.now()
    never = get_date_max()
    rows = DBTaskResult.objects.filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
    due = Q(status=TaskResultStatus.READY) & (Q(run_after=never) | Q(run_after__lte=now))
    counts = rows.aggregate(
        ready=Count("pk", filter=due),
        scheduled=Count("pk", filter=Q(status=TaskResultStatus.READY, run_after__gt=now) & ~Q(run_after=never)),
        running=Count("pk", filter=Q(status=TaskResultStatus.RUNNING)),
        queued_at=Min("enqueued_at", filter=Q(status=TaskResultStatus.READY, run_after=never)),
        due_at=Min("run_after", filter=Q(status=TaskResultStatus.READY, run_after__lte=now)),
    )
    since = [t for t in (counts.pop("queued_at"), counts.pop("due_at")) if t is not None]
    counts["oldest_ready_age_seconds"] = (
        round(max((now - min(since)).total_seconds(), 0.0), 1) if since else None)
    return counts


def health_report() -> tuple[bool, dict[str, Any]]:
    """Everything an operator looks at: (ready, body). `ready` is the database check alone (the web can
    serve without a worker). body = {"status": "ok"|"unavailable", "checks": {"database": ..., "worker":
    ..., "queue": ...}, "warnings": [str]}: a warning when no worker beat within DEAD_AFTER or the oldest
    ready task waited longer than QUEUE_BEHIND."""
    from refunddesk.core.worker import DEAD_AFTER

    database = database_check()
    ready = database["reachable"] and database["writable"]
    checks: dict[str, Any] = {"database": database, "worker": None, "queue": None}
    warnings: list[str] = []
    if database["reachable"]:
        try:
            checks["worker"] = worker_check()
            checks["queue"] = queue_check()
        except DatabaseError as exc:
            warnings.append(f"could not read the worker's state: {exc}")
    worker, queue = checks["worker"], checks["queue"]
    if worker is not None and worker["alive"] == 0:
        age = worker["heartbeat_age_seconds"]
        warnings.append("no worker has ever reported" if age is None else
                        f"no worker has reported for {age:.0f} s (more than {DEAD_AFTER.total_seconds():.0f} s)")
    if queue is not None and (queue["oldest_ready_age_seconds"] or 0) > QUEUE_BEHIND.total_seconds():
        warnings.append(f"the oldest ready task has waited {queue['oldest_ready_age_seconds']:.0f} s")
    return ready, {"status": "ok" if ready else "unavailable", "checks": checks, "warnings": warnings}

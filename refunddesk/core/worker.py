"""Keeping the background queue healthy: heartbeats, re-queueing the jobs of dead workers, and the
periodic jobs (reconciliation) that `refunddesk worker` runs beside the task loop."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from refunddesk.core.models import WorkerHeartbeat

log = logging.getLogger("refunddesk.worker")
HEARTBEAT_EVERY = 5
DEAD_AFTER = dt.timedelta(seconds=30)
UNKNOWN_WORKER_GRACE = dt.timedelta(minutes=15)


def worker_heartbeat(*, worker_id: str) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"hostname": socket.gethostname(), "pid": os.getpid(), "seen_at": timezone.now()},
    )


@transaction.atomic
def tasks_requeue_orphans(*, now: dt.datetime | None = None) -> int:
    """Jobs left RUNNING by a worker that stopped saying it is alive go back to READY."""
    now = now or timezone.now()
    alive = set(WorkerHeartbeat.objects.filter(seen_at__gte=now - DEAD_AFTER).values_list("worker_id", flat=True))
    known = set(WorkerHeartbeat.objects.values_list("worker_id", flat=True))
    requeued = 0
    for row in DBTaskResult.objects.select_for_update(skip_locked=True).filter(status=TaskResultStatus.RUNNING):
        last = row.worker_ids[-1] if row.worker_ids else None
        dead = (last in known and last not in alive) or (
            last not in known and row.started_at and row.started_at < now - UNKNOWN_WORKER_GRACE)
        if dead:
            row.status = TaskResultStatus.READY
            row.save(update_fields=["status"])
            requeued += 1
            log.warning("re-queued task %s (%s) left running by dead worker %s", row.pk, row.task_path, last)
    WorkerHeartbeat.objects.filter(seen_at__lt=now - dt.timedelta(days=1)).delete()
    return requeued


def maintenance_loop(*, worker_id: str, stop: threading.Event) -> None:
    """Heartbeat every few seconds; re-queue orphans, reconcile refunds and fill the deadlines a changed
    holiday calendar now allows, every REFUNDDESK_RECONCILE_SECONDS; queue the reconciliation of charges
    with recent refund activity every REFUNDDESK_RECONCILE_CHARGES_SECONDS."""
    from refunddesk.payments.services import charges_reconcile_enqueue, refunds_reconcile
    from refunddesk.refunds.services import deadlines_fill_on_calendar_change

    last_reconcile = 0.0
    last_charges = 0.0
    calendar_seen = None
    import time

    while not stop.is_set():
        try:
            close_old_connections()
            worker_heartbeat(worker_id=worker_id)
            if time.monotonic() - last_reconcile >= settings.REFUNDDESK_RECONCILE_SECONDS:
                last_reconcile = time.monotonic()
                tasks_requeue_orphans()
                refunds_reconcile()
                calendar_seen = deadlines_fill_on_calendar_change(seen=calendar_seen)
            every = settings.REFUNDDESK_RECONCILE_CHARGES_SECONDS
            if time.monotonic() - last_charges >= every:
                last_charges = time.monotonic()
                # one worker per period queues it (the cache is shared by every process)
                if cache.add("refunddesk:charges-reconcile", worker_id, timeout=max(every - HEARTBEAT_EVERY, 1)):
                    charges_reconcile_enqueue()
        except Exception:  # keep the loop alive; the error is in the log
            log.exception("worker maintenance failed")
        stop.wait(HEARTBEAT_EVERY)

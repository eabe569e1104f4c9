"""refunddesk worker: runs background tasks (refunds, emails, webhooks) from the database queue.

Beside the task loop it keeps a heartbeat, re-queues jobs left running by workers that died,
and reconciles refunds that are not final (every REFUNDDESK_RECONCILE_SECONDS). A database outage
(a SQLite lock held past the busy timeout, PostgreSQL down) does not stop it: it waits with backoff and
carries on (refunddesk.core.worker.tasks_run).
"""

from __future__ import annotations

import secrets
import threading

from django.core.management.base import BaseCommand

from refunddesk.core.outages import database_wait
from refunddesk.core.worker import maintenance_loop, tasks_requeue_orphans, tasks_run, worker_heartbeat


class Command(BaseCommand):
    help = "Run the background worker: refund execution, emails, outbound webhooks, reconciliation."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls when idle")
        parser.add_argument("--worker-id", default="", help="unique id (default: generated)")

    def handle(self, *args, batch: bool, interval: float, worker_id: str, **options):
        worker_id = worker_id or f"rd-{secrets.token_hex(8)}"

        def start() -> None:
            worker_heartbeat(worker_id=worker_id)
            tasks_requeue_orphans()

        database_wait(start, what="worker start")
        stop = threading.Event()
        thread = threading.Thread(target=maintenance_loop, kwargs={"worker_id": worker_id, "stop": stop},
                                  daemon=True, name="refunddesk-maintenance")
        if not batch:
            thread.start()
        try:
            tasks_run(worker_id=worker_id, interval=interval, batch=batch)
        finally:
            stop.set()

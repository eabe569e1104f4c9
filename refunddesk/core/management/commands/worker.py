"""refunddesk worker: runs background tasks (refunds, emails, webhooks) from the database queue.

Beside the task loop it keeps a heartbeat, re-queues jobs left running by workers that died,
and reconciles refunds that are not final (every REFUNDDESK_RECONCILE_SECONDS).
"""

from __future__ import annotations

import secrets
import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand

from refunddesk.core.worker import maintenance_loop, tasks_requeue_orphans, worker_heartbeat


class Command(BaseCommand):
    help = "Run the background worker: refund execution, emails, outbound webhooks, reconciliation."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls when idle")
        parser.add_argument("--worker-id", default="", help="unique id (default: generated)")

    def handle(self, *args, batch: bool, interval: float, worker_id: str, **options):
        worker_id = worker_id or f"rd-{secrets.token_hex(8)}"
        worker_heartbeat(worker_id=worker_id)
        tasks_requeue_orphans()
        stop = threading.Event()
        thread = threading.Thread(target=maintenance_loop, kwargs={"worker_id": worker_id, "stop": stop},
                                  daemon=True, name="refunddesk-maintenance")
        if not batch:
            thread.start()
        try:
            call_command(
                "db_worker", queue_name="*", interval=interval, batch=batch, reload=False, worker_id=worker_id,
                startup_delay=False, verbosity=options.get("verbosity", 1),
            )
        finally:
            stop.set()

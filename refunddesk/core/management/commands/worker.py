"""refunddesk worker: runs background tasks (refunds, emails, webhooks) from the database queue."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background worker: refund execution, emails, outbound webhooks, reconciliation."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="run what is queued, then exit")
        parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls when idle")

    def handle(self, *args, batch: bool, interval: float, **options):
        call_command(
            "db_worker", queue_name="*", interval=interval, batch=batch, reload=False,
            verbosity=options.get("verbosity", 1),
        )

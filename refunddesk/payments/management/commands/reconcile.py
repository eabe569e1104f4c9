"""refunddesk reconcile: ask the gateways about every refund that is not final and settle it."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from refunddesk.payments.services import refunds_reconcile


class Command(BaseCommand):
    help = "Settle refunds that are not final by asking their gateway (also runs periodically in the worker)."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=30,
                            help="seconds a refund must have waited untouched (default 30)")

    def handle(self, *args, older_than: int, **options):
        import datetime as dt

        settled = refunds_reconcile(older_than=dt.timedelta(seconds=older_than))
        for refund in settled:
            self.stdout.write(f"{refund.idempotency_key}: {refund.status}"
                              + (f" ({refund.last_error})" if refund.last_error and not refund.final else ""))
        self.stdout.write(f"{len(settled)} refund(s) looked at")

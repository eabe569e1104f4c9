"""refunddesk reconcile: settle refunds that are not final, and (--charges) compare charges with their gateway."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand

from refunddesk.payments.services import charge_reconcile, charges_with_recent_activity, refunds_reconcile


class Command(BaseCommand):
    help = ("Settle refunds that are not final by asking their gateway; with --charges also list the refunds "
            "of every charge with recent activity at its gateway and settle every difference (both also run "
            "periodically in the worker).")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=30,
                            help="seconds a refund must have waited untouched (default 30)")
        parser.add_argument("--charges", action="store_true",
                            help="also reconcile charges with refund activity in the last --days days")
        parser.add_argument("--days", type=int, default=None,
                            help="with --charges: how far back activity counts (default REFUNDDESK_RECONCILE_RECENT_DAYS)")

    def handle(self, *args, older_than: int, charges: bool, days: int | None, **options):
        from refunddesk.payments.gateways.errors import GatewayError

        settled = refunds_reconcile(older_than=dt.timedelta(seconds=older_than))
        for refund in settled:
            self.stdout.write(f"{refund.idempotency_key}: {refund.status}"
                              + (f" ({refund.last_error})" if refund.last_error and not refund.final else ""))
        self.stdout.write(f"{len(settled)} refund(s) looked at")
        if not charges:
            return
        ids = charges_with_recent_activity(days=days)
        for n, order_id in enumerate(ids, 1):
            try:
                report = charge_reconcile(order_id=order_id)
            except GatewayError as exc:
                self.stderr.write(f"[{n}/{len(ids)}] order {order_id}: gateway not reached: {exc}")
                continue
            line = (f"[{n}/{len(ids)}] {report.order}: {len(report.recorded)} recorded, {len(report.moved)} moved, "
                    f"{len(report.disagreements)} disagreement(s)" + ("" if report.listed else " (looked up one by one)"))
            self.stdout.write(line)
            for item in (*report.recorded, *report.moved, *report.disagreements):
                self.stdout.write(f"    {item}")
        self.stdout.write(f"{len(ids)} charge(s) reconciled")

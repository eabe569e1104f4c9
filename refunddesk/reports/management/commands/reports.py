"""refunddesk reports refresh - rebuild the report pages' daily figures now (the worker does it every
REFUNDDESK_REPORTS_REFRESH_SECONDS). Thin: calls reports.services.figures_refresh and prints what it did."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Rebuild the report pages' daily figures now (refresh)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["refresh"], help="refresh: rebuild every daily figure")

    def handle(self, *args, **options):
        from refunddesk.reports.services import figures_refresh

        done = figures_refresh()
        self.stdout.write(f"report figures rebuilt: {done.rows} rows in {done.seconds:.1f} s")

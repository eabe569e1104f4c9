"""refunddesk ledger --from 2026-01-01 --to 2026-01-31 [--format csv|xlsx] [--output FILE] - the refunds ledger.

Thin: parse, call reports.ledger, write. Prints the reconciliation with the orders on stderr.
"""

from __future__ import annotations

import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError

from refunddesk.core.errors import ApplicationError
from refunddesk.reports import ledger


def _day(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{name} {text!r} is not a date, e.g. 2026-01-31") from None


class Command(BaseCommand):
    help = "Export the refunds ledger of a period (one row per refund) as CSV or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="last", required=True, help="last day (included), YYYY-MM-DD")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--output", help="file to write (default: standard output; required for xlsx)")

    def handle(self, *args, **options):
        try:
            start, end = ledger.period_of_days(_day(options["first"], "--from"), _day(options["last"], "--to"))
            if options["format"] == "xlsx":
                if not options["output"]:
                    raise CommandError("--format xlsx needs --output FILE.xlsx")
                data = ledger.ledger_xlsx(start, end)
                with open(options["output"], "wb") as f:
                    f.write(data)
            else:
                text = ledger.ledger_csv(start, end)
                if options["output"]:
                    with open(options["output"], "w", encoding="utf-8", newline="") as f:
                        f.write(text)
                else:
                    self.stdout.write(text, ending="")
            check = ledger.ledger_reconcile(start, end)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"cannot write {options['output']}: {exc.strerror or exc}") from None
        if check.ok:
            sys.stderr.write("reconciled: the ledger's totals equal the refunded amounts on the orders\n")
        else:
            sys.stderr.write("NOT reconciled (ledger minus orders, minor units): "
                             + ", ".join(f"{c} {d}" for c, d in check.differences.items()) + "\n")

"""refunddesk import orders FILE.csv"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from refunddesk.billing.importing import OPTIONAL_COLUMNS, ORDER_COLUMNS, orders_import_csv
from refunddesk.core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Import billing data from CSV. `import orders FILE.csv` upserts orders by order_id; good rows are "
        f"stored, bad rows reported with their line number. Columns: {', '.join(ORDER_COLUMNS)}; "
        f"optional: {', '.join(OPTIONAL_COLUMNS)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["orders"], help="what the file holds")
        parser.add_argument("file", help="path to a UTF-8 CSV file with a header row")

    def handle(self, *args, kind: str, file: str, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                report = orders_import_csv(
                    lines=fh, progress=lambda n: self.stderr.write(f"  ... {n} rows read")
                )
        except UnicodeDecodeError:
            raise CommandError(f"{file}: not UTF-8 text; save the file as UTF-8 CSV.") from None
        except ApplicationError as exc:
            raise CommandError(f"{file}: {exc}") from None
        for line, reason in report.errors:
            self.stderr.write(f"{file}:{line}: {reason}")
        self.stdout.write(
            f"{report.created} created, {report.updated} updated, {len(report.errors)} rejected"
        )
        if report.errors:
            raise CommandError(f"{len(report.errors)} row(s) rejected; fix them and import the file again "
                               "(rows already stored are not duplicated).")

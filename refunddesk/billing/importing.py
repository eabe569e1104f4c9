"""CSV import of orders: store the good rows, report each bad row with its line and reason."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from refunddesk.billing.services import OrderInput, order_upsert
from refunddesk.core.errors import ApplicationError, ValidationError

ORDER_COLUMNS = (
    "order_id", "customer_id", "plan_id", "amount", "currency", "purchased_at", "sales_channel",
    "payment_method",
)
OPTIONAL_COLUMNS = ("gateway", "gateway_charge_ref", "promotional", "refundable", "channel_fee", "price_due")
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _bool(value: str | None, name: str, default: bool) -> bool:
    if value is None:
        return default
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return default if text == "" else False
    raise ValidationError(f"'{value}' is not yes/no (use true/false, yes/no or 1/0).", field=name)


def _datetime(value: str, name: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat((value or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"'{value}' is not a date-time like 2026-03-01T10:00:00+08:00.", field=name) from None
    return parsed


def _row_input(row: dict[str, str]) -> OrderInput:
    return OrderInput(
        external_id=(row.get("order_id") or "").strip(),
        customer_id=(row.get("customer_id") or "").strip(),
        plan_id=(row.get("plan_id") or "").strip(),
        amount=(row.get("amount") or "").strip(),
        currency=(row.get("currency") or "").strip(),
        purchased_at=_datetime(row.get("purchased_at", ""), "purchased_at"),
        sales_channel=(row.get("sales_channel") or "").strip(),
        payment_method=(row.get("payment_method") or "").strip(),
        gateway=(row.get("gateway") or "sandbox").strip(),
        gateway_charge_ref=(row.get("gateway_charge_ref") or "").strip(),
        promotional=_bool(row.get("promotional"), "promotional", False),
        refundable=_bool(row.get("refundable"), "refundable", True),
        channel_fee=(row.get("channel_fee") or "0").strip(),
        price_due=(row.get("price_due") or "").strip() or None,
    )


def orders_import_csv(
    *, lines: Iterable[str], progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Import orders from CSV lines (header ORDER_COLUMNS, optionally OPTIONAL_COLUMNS; amounts in major
    units). Each row is upserted by `order_upsert` in its own transaction: a bad row never stops or spoils
    the good ones, and is reported as (line, "field: reason") - a refused change to an order with refunds
    (order_upsert's Conflict) included. Raises ValidationError (field "header") for a header without the
    required columns, before any row is read."""
    report = ImportReport()
    reader = csv.DictReader(lines)
    missing = [c for c in ORDER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(
            f"the header row lacks {', '.join(missing)}; expected columns: "
            f"{', '.join(ORDER_COLUMNS + OPTIONAL_COLUMNS)}.",
            field="header",
        )
    for index, row in enumerate(reader):
        line = reader.line_num
        try:
            if None in row:
                raise ValidationError("has more values than the header has columns.", field="row")
            _, created = order_upsert(data=_row_input(row))
        except ApplicationError as exc:
            report.errors.append((line, str(exc)))
        else:
            if created:
                report.created += 1
            else:
                report.updated += 1
        if progress and index % 500 == 499:
            progress(index + 1)
    return report

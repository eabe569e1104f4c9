"""The refunds ledger for finance: one row per refund created in a period, as CSV or XLSX (openpyxl).

A refund belongs to the period [start, end) it was created in (payments.Refund.created_at), whatever its
status; its money counts in the ledger's totals when it stands refunded (status succeeded, not reversed).
The ledger reconciles with the orders: for each currency, the total of the refunds that stand equals the sum
of `Order.refunded_minor` over the orders refunded in the period (`ledger_reconcile`), as long as no order
also had money refunded outside it; a difference is listed per currency for finance to look at (rules for
money 2: every disagreement in front of finance).

Amounts are exact: integer minor units in the `*_minor` columns, the same as a decimal string in major units
in the `amount` and `channel_fee` columns (core.money.exponent per currency). Two queries per export, the
rows read in chunks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from refunddesk.billing.models import Order
from refunddesk.core.errors import ValidationError
from refunddesk.core.money import exponent
from refunddesk.payments.models import Refund, RefundStatus

COLUMNS = ("refund", "gateway", "gateway_reference", "charge_reference", "amount", "currency", "amount_minor",
           "channel_fee", "channel_fee_minor", "status", "origin", "created_at", "submitted_at", "settled_at",
           "reversed_at", "order", "request")
MAX_DAYS = 3 * 366


def _major(minor: int, currency: str) -> str:
    exp = exponent(currency)
    return str(Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp)))


def _ts(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else ""


def period_check(start: dt.datetime, end: dt.datetime) -> None:
    """Refuse a period that ends before it starts or is longer than three years (ValidationError, field end)."""
    if end <= start:
        raise ValidationError(_("The period must end on or after its first day."), field="end")
    if (end - start).days > MAX_DAYS:
        raise ValidationError(_("A ledger covers at most three years; export it in parts."), field="end")


def ledger_queryset(start: dt.datetime, end: dt.datetime):
    return (Refund.objects.filter(created_at__gte=start, created_at__lt=end)
            .order_by("created_at", "id"))


def ledger_rows(start: dt.datetime, end: dt.datetime) -> Iterator[dict]:
    """One dict per refund created in [start, end), oldest first, with COLUMNS as keys (timestamps in UTC,
    RFC 3339). Raises ValidationError for a period `period_check` refuses."""
    period_check(start, end)
    for r in (ledger_queryset(start, end)
              .values_list("idempotency_key", "gateway", "gateway_ref", "charge_ref", "amount_minor", "currency",
                           "order__channel_fee_minor", "status", "origin", "created_at", "submitted_at",
                           "settled_at", "reversed_at", "order__external_id", "request__public_id")
              .iterator(chunk_size=2000)):
        (key, gateway, gref, cref, minor, cur, fee, status, origin, created, submitted, settled, reversed_,
         order, request) = r
        yield {"refund": key, "gateway": gateway, "gateway_reference": gref, "charge_reference": cref,
               "amount": _major(minor, cur), "currency": cur, "amount_minor": minor,
               "channel_fee": _major(fee, cur), "channel_fee_minor": fee, "status": status, "origin": origin,
               "created_at": _ts(created), "submitted_at": _ts(submitted), "settled_at": _ts(settled),
               "reversed_at": _ts(reversed_), "order": order, "request": request or ""}


def stands(status: str) -> bool:
    """A refund whose money counts in the totals: succeeded (a reversal makes it failed)."""
    return status == RefundStatus.SUCCEEDED


@dataclass(frozen=True)
class Reconciliation:
    """Per currency (minor units): the ledger's total of refunds that stand, and the sum of refunded amounts on
    the orders refunded in the period. `differences` lists the currencies where they differ."""

    ledger: dict[str, int]
    orders: dict[str, int]

    @property
    def differences(self) -> dict[str, int]:
        return {c: self.ledger.get(c, 0) - self.orders.get(c, 0) for c in sorted(set(self.ledger) | set(self.orders))
                if self.ledger.get(c, 0) != self.orders.get(c, 0)}

    @property
    def ok(self) -> bool:
        return not self.differences


def ledger_reconcile(start: dt.datetime, end: dt.datetime) -> Reconciliation:
    """The ledger's totals against the orders' refunded amounts for the period (module docstring). Two
    aggregate queries."""
    period_check(start, end)
    ledger = dict(ledger_queryset(start, end).filter(status=RefundStatus.SUCCEEDED).order_by()
                  .values("currency").annotate(total=Sum("amount_minor")).values_list("currency", "total"))
    order_ids = ledger_queryset(start, end).filter(status=RefundStatus.SUCCEEDED).values("order_id")
    orders = defaultdict(int)
    for cur, total in (Order.objects.filter(Q(pk__in=order_ids)).order_by().values("currency")
                       .annotate(total=Sum("refunded_minor")).values_list("currency", "total")):
        orders[cur] += total or 0
    return Reconciliation(ledger=ledger, orders=dict(orders))


def ledger_csv(start: dt.datetime, end: dt.datetime) -> str:
    """The ledger as CSV text (a header of COLUMNS, then one line per refund)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(ledger_rows(start, end))
    return out.getvalue()


def ledger_xlsx(start: dt.datetime, end: dt.datetime) -> bytes:
    """The ledger as an XLSX workbook (openpyxl, write-only): the sheet "ledger" with COLUMNS (amounts as
    exact decimal text and as integers of minor units) and the sheet "totals" per currency."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("ledger")
    sheet.append(list(COLUMNS))
    totals: dict[str, int] = defaultdict(int)
    for row in ledger_rows(start, end):
        sheet.append([row[c] for c in COLUMNS])
        if stands(row["status"]):
            totals[row["currency"]] += row["amount_minor"]
    summary = wb.create_sheet("totals")
    summary.append(["currency", "refunded", "refunded_minor"])
    for cur in sorted(totals):
        summary.append([cur, _major(totals[cur], cur), totals[cur]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def period_of_days(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period from the start of day `first` to the end of day `last` (both included) in the merchant's time
    zone, as [start, end). Raises ValidationError (field start or end) for a day outside the years 1970-2999."""
    from django.utils import timezone

    for day, field in ((first, "start"), (last, "end")):
        if not 1970 <= day.year <= 2999:
            raise ValidationError(_("Choose a day between the years 1970 and 2999."), field=field)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min))
    return start, end

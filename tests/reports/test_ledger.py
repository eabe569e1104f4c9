"""The refunds ledger (issue 20): one row per refund, CSV and XLSX, reconciling with the orders. Runs on the
database DATABASE_URL names (SQLite by default; CI runs it on PostgreSQL too)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from refunddesk.billing.models import Order
from refunddesk.payments import services as payment_services
from refunddesk.payments.models import Refund
from refunddesk.refunds import services as s
from refunddesk.reports import ledger
from tests.console.conftest import client_for
from tests.factories import CustomerFactory, OrderFactory, UsageFactory

pytestmark = pytest.mark.django_db


def _refund(amount: int, currency: str = "CNY", *, paid: bool = True, finance=None) -> Refund:
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, gateway="manual", payment_method="bank_transfer", amount_minor=amount,
                         currency=currency, channel_fee_minor=amount // 100)
    UsageFactory(order=order)
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="duplicate_charge")
    refund = Refund.objects.get(request=req)
    if paid:
        payment_services.refund_mark_paid(refund_id=refund.pk, user=finance, reference=f"BANK-{refund.pk}")
    return Refund.objects.get(pk=refund.pk)


@pytest.fixture
def refunds(published_policy, finance):
    paid = [_refund(3000, finance=finance), _refund(1999, finance=finance), _refund(1234, "USD", finance=finance),
            _refund(500, "JPY", finance=finance)]
    unpaid = _refund(777, paid=False)
    earlier = _refund(4200, finance=finance)
    Refund.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - dt.timedelta(days=60))
    return {"paid": paid, "unpaid": unpaid, "earlier": earlier}


def _period():
    today = timezone.localdate()
    return ledger.period_of_days(today - dt.timedelta(days=7), today)


def test_the_ledger_total_equals_the_refunded_amounts_on_the_orders(refunds):
    start, end = _period()
    rows = list(ledger.ledger_rows(start, end))
    assert len(rows) == 5  # the one created 60 days ago is outside the period
    totals: dict[str, int] = {}
    for row in rows:
        if ledger.stands(row["status"]):
            totals[row["currency"]] = totals.get(row["currency"], 0) + row["amount_minor"]
    order_ids = [r.order_id for r in refunds["paid"]]
    on_orders: dict[str, int] = {}
    for order in Order.objects.filter(pk__in=order_ids):
        on_orders[order.currency] = on_orders.get(order.currency, 0) + order.refunded_minor
    assert totals == on_orders == {"CNY": 4999, "USD": 1234, "JPY": 500}
    check = ledger.ledger_reconcile(start, end)
    assert check.ok and check.ledger == totals


def test_csv_and_xlsx_hold_the_same_rows_exactly(refunds, finance):
    start, end = _period()
    rows = list(csv.DictReader(io.StringIO(ledger.ledger_csv(start, end))))
    usd = next(r for r in rows if r["currency"] == "USD")
    assert (usd["amount"], usd["amount_minor"], usd["status"], usd["gateway_reference"]) == (
        "12.34", "1234", "succeeded", f"BANK-{refunds['paid'][2].pk}")
    assert usd["order"] and usd["request"].startswith("RR-") and usd["settled_at"].endswith("Z")
    jpy = next(r for r in rows if r["currency"] == "JPY")
    assert jpy["amount"] == "500"
    book = load_workbook(io.BytesIO(ledger.ledger_xlsx(start, end)))
    sheet = list(book["ledger"].values)
    assert list(sheet[0]) == list(ledger.COLUMNS) and len(sheet) == 6
    totals = {row[0]: row[2] for row in list(book["totals"].values)[1:]}
    assert totals == {"CNY": 4999, "JPY": 500, "USD": 1234}

    # the console's finance page downloads it; a period that ends before it starts is a form error
    client = client_for(finance)
    day = timezone.localdate()
    response = client.get("/console/finance/ledger/", {"start": str(day - dt.timedelta(days=7)), "end": str(day),
                                                       "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content.decode() == ledger.ledger_csv(start, end)
    response = client.get("/console/finance/ledger/", {"start": str(day), "end": str(day - dt.timedelta(days=1)),
                                                       "format": "csv"}, headers={"Accept-Language": "zh-hans"})
    assert response.status_code == 400 and 'id="id_end_error"' in response.content.decode()


def test_the_command_and_the_api_export_the_ledger(refunds, api, tmp_path):
    day = timezone.localdate()
    first, last = str(day - dt.timedelta(days=7)), str(day)
    out = StringIO()
    call_command("ledger", "--from", first, "--to", last, stdout=out)
    start, end = _period()
    assert out.getvalue() == ledger.ledger_csv(start, end)
    target = tmp_path / "l.xlsx"
    call_command("ledger", "--from", first, "--to", last, "--format", "xlsx", "--output", str(target))
    assert load_workbook(target)["ledger"].max_row == 6
    answer = api.get("/api/v1/finance/ledger", {"start": first, "end": last, "format": "xlsx"})
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/vnd.openxmlformats")
    bad = api.get("/api/v1/finance/ledger", {"start": last, "end": first})
    assert bad.status_code == 422 and json.loads(bad.content)["error"]["field"] == "end"


def test_a_day_outside_the_years_refunddesk_computes_with_is_refused_clearly(api, finance):
    """Year 1 or 9999 made Django's time zone arithmetic overflow (a 500); now a 422 / form error naming it."""
    answer = api.get("/api/v1/finance/ledger", {"start": "0001-01-01", "end": "2026-01-01"})
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "start"
    response = client_for(finance).get("/console/finance/ledger/", {"start": "2026-01-01", "end": "9999-12-31",
                                                                    "format": "csv"})
    assert response.status_code == 400 and 'id="id_end_error"' in response.content.decode()
    replay = api.post("/api/v1/policy/replay", data=json.dumps({"document": "id: x", "since": "9999-12-31"}),
                      content_type="application/json")
    assert replay.status_code == 422 and replay.json()["error"]["field"] == "since"

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from refunddesk.billing.models import Order
from tests.factories import CustomerFactory, PlanFactory

pytestmark = pytest.mark.django_db

HEADER = "order_id,customer_id,plan_id,amount,currency,purchased_at,sales_channel,payment_method,promotional\n"


@pytest.fixture
def csv_file(tmp_path):
    CustomerFactory(external_id="cus_1")
    PlanFactory(external_id="monthly")
    past = (timezone.now() - dt.timedelta(days=1)).isoformat()
    future = (timezone.now() + dt.timedelta(days=10)).isoformat()
    rows = [
        f"ORD-1,cus_1,monthly,30.00,CNY,{past},web,alipay,no",         # line 2: good
        f"ORD-2,cus_1,monthly,30.001,CNY,{past},web,alipay,no",        # line 3: over-precise
        f"ORD-3,cus_1,monthly,30.00,ABC,{past},web,alipay,no",         # line 4: unknown currency
        f"ORD-4,ghost,monthly,30.00,CNY,{past},web,alipay,no",         # line 5: unknown customer
        f"ORD-5,cus_1,monthly,30.00,CNY,{future},web,alipay,no",       # line 6: future date
        f"ORD-6,cus_1,monthly,-1.00,CNY,{past},web,card,yes",          # line 7: negative
        f"ORD-7,cus_1,monthly,9.90,CNY,{past},app_store,card,yes",     # line 8: good
        f"ORD-8,cus_1,nope,9.90,CNY,{past},web,card,no",               # line 9: unknown plan
        "ORD-9,cus_1,monthly,9.90,CNY,yesterday,web,card,no",         # line 10: bad date
    ]
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_good_rows_stored_bad_rows_reported_with_line_numbers(csv_file):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="7 row"):
        call_command("import", "orders", str(csv_file), stdout=out, stderr=err)
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["ORD-1", "ORD-7"]
    report = err.getvalue()
    expected = {3: "amount", 4: "currency", 5: "customer_id", 6: "purchased_at", 7: "amount", 9: "plan_id",
                10: "purchased_at"}
    for line, field in expected.items():
        assert f"orders.csv:{line}: {field}:" in report, report
    assert "orders.csv:2:" not in report and "orders.csv:8:" not in report
    assert "2 created, 0 updated, 7 rejected" in out.getvalue()


def test_importing_the_same_file_again_duplicates_nothing(csv_file):
    for _ in range(2):
        with pytest.raises(CommandError):
            call_command("import", "orders", str(csv_file), stdout=io.StringIO(), stderr=io.StringIO())
    assert Order.objects.count() == 2


def test_a_file_without_the_needed_columns_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,amount\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="customer_id"):
        call_command("import", "orders", str(path), stdout=io.StringIO(), stderr=io.StringIO())


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import", "orders", str(tmp_path / "nope.csv"))

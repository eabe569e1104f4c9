"""Once a refund exists for an order or is pending on it, the billing import cannot change what the money
was computed on and sent against (issue 13 item 9; docs/architecture.md, money rule 5): amount, currency, gateway,
gateway_charge_ref - 409 naming the field, nothing written - and an order with refund requests cannot move
to another customer. Changes that keep every invariant still go through."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from refunddesk.billing.models import Customer, Order
from refunddesk.payments.models import Refund
from refunddesk.refunds import services as s
from refunddesk.refunds.states import Status
from tests.factories import UserFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/ORD-1"


def put(client, url: str, body: dict):
    return client.put(url, data=json.dumps(body), content_type="application/json")


BOUGHT = timezone.now() - dt.timedelta(days=1)


def order_body(**overrides) -> dict:
    body = {"customer_id": "cus_1", "plan_id": "yearly", "amount": "100.00", "currency": "CNY",
            "purchased_at": BOUGHT.isoformat(), "sales_channel": "web", "payment_method": "alipay",
            "gateway": "sandbox", "gateway_charge_ref": "ch_0001", "channel_fee": "0.60"}
    body.update(overrides)
    return body


@pytest.fixture
def billing(api, published_policy):
    for n in (1, 2):
        assert put(api, f"/api/v1/customers/cus_{n}", {"email": f"c{n}@example.test", "region": "cn-east",
                                                        "language": "en"}).status_code == 201
        Customer.objects.filter(external_id=f"cus_{n}").update(user=UserFactory(username=f"c{n}"))
    assert put(api, "/api/v1/plans/yearly", {"name": "Yearly", "period_days": 365, "refund_window_days": 30,
                                             "price": "100.00", "currency": "CNY"}).status_code == 201
    assert put(api, URL, order_body()).status_code == 201
    return api


def apply(reason: str = "technical_issue"):
    customer = Order.objects.select_related("customer").get(external_id="ORD-1").customer
    return s.refund_request_submit(customer=customer, order_number="ORD-1", reason=reason)


@pytest.fixture
def approved(billing, agent):
    """Issue 13 item 9, as filed: 100.00 approved, the refund pending (not yet paid)."""
    req = apply()
    assert req.status == Status.IN_REVIEW
    s.refund_request_approve(public_id=req.public_id, user=agent, amount="100.00", reason="Fair", clause="default")
    assert Refund.objects.get(order__external_id="ORD-1").status == "pending"
    return billing


def unchanged(order: Order) -> None:
    again = Order.objects.get(pk=order.pk)
    assert (again.amount_minor, again.currency, again.gateway, again.gateway_charge_ref, again.customer_id,
            again.updated_at) == (order.amount_minor, order.currency, order.gateway, order.gateway_charge_ref,
                                  order.customer_id, order.updated_at)


@pytest.mark.parametrize("change, field", [
    ({"amount": "10.00"}, "amount"),
    ({"currency": "USD"}, "currency"),
    ({"gateway": "stripe"}, "gateway"),
    ({"gateway_charge_ref": "ch_9999"}, "gateway_charge_ref"),
])
def test_a_pending_refund_freezes_the_money_fields(approved, change, field):
    before = Order.objects.get(external_id="ORD-1")
    r = put(approved, URL, order_body(**change, promotional=True))
    assert r.status_code == 409, r.content
    error = r.json()["error"]
    assert error["code"] == "order_has_refunds" and error["field"] == field and error["fields"] == [field]
    assert "refund of 100.00 CNY" in error["message"] and "pending" in error["message"]
    unchanged(before)
    assert Order.objects.get(pk=before.pk).promotional is False  # nothing of the PUT was written


def test_every_frozen_field_is_named(approved):
    r = put(approved, URL, order_body(amount="10.00", currency="USD", gateway_charge_ref="x"))
    assert r.status_code == 409
    assert r.json()["error"]["fields"] == ["amount", "currency", "gateway_charge_ref"]


def test_the_refund_still_pays_what_was_approved(approved):
    put(approved, URL, order_body(amount="10.00"))
    run_tasks()
    order = Order.objects.get(external_id="ORD-1")
    assert order.amount_minor == 10000 and order.refunded_minor == 10000
    assert Refund.objects.get(order=order).status == "succeeded"


def test_a_paid_refund_freezes_them_too(approved):
    run_tasks()
    r = put(approved, URL, order_body(gateway_charge_ref="ch_other"))
    assert r.status_code == 409 and r.json()["error"]["field"] == "gateway_charge_ref"
    assert "100.00 CNY has been refunded" in r.json()["error"]["message"]
    r = put(approved, URL, order_body(amount="100.10"))  # more is as wrong as less
    assert r.status_code == 409 and r.json()["error"]["field"] == "amount"


def test_a_failed_refund_freezes_the_charge_it_was_sent_against(approved):
    Refund.objects.filter(order__external_id="ORD-1").update(status="failed")  # as a gateway's decline leaves it
    r = put(approved, URL, order_body(gateway="stripe", gateway_charge_ref="ch_x"))
    assert r.status_code == 409 and r.json()["error"]["fields"] == ["gateway", "gateway_charge_ref"]


def test_a_request_in_review_freezes_them_before_any_refund(billing):
    """The case is decided on the order's amount: it cannot move under the agent's feet."""
    req = apply()
    before = Order.objects.get(external_id="ORD-1")
    r = put(billing, URL, order_body(amount="10.00"))
    assert r.status_code == 409 and r.json()["error"]["field"] == "amount"
    assert req.public_id in r.json()["error"]["message"]
    unchanged(before)


def test_the_message_is_in_chinese_for_a_chinese_client(approved):
    r = approved.put(URL, data=json.dumps(order_body(amount="10.00")), content_type="application/json",
                     headers={"Accept-Language": "zh-hans"})
    assert r.status_code == 409 and "此项不能再修改" in r.json()["error"]["message"]


def test_changes_that_keep_every_invariant_go_through(approved):
    r = put(approved, URL, order_body(promotional=True, refundable=False, channel_fee="1.00", price_due="90.00"))
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["promotional"], body["refundable"], body["channel_fee"], body["price_due"]) == (
        True, False, "1.00", "90.00")
    assert put(approved, URL, order_body(promotional=True, refundable=False, channel_fee="1.00",
                                          price_due="90.00")).status_code == 200  # the same PUT again


def test_after_a_withdrawn_request_the_order_can_be_corrected(billing):
    req = apply()
    s.refund_request_withdraw(customer=req.customer, public_id=req.public_id)
    r = put(billing, URL, order_body(amount="99.00", gateway_charge_ref="ch_0001b"))
    assert r.status_code == 200, r.content
    assert r.json()["amount"] == "99.00"


def test_without_any_refund_everything_can_still_be_corrected(billing):
    r = put(billing, URL, order_body(amount="99.00", currency="USD", gateway="stripe", customer_id="cus_2"))
    assert r.status_code == 200, r.content
    assert (r.json()["amount"], r.json()["currency"], r.json()["customer_id"]) == ("99.00", "USD", "cus_2")


# --- one more of the same kind: moving the order to another customer ---------------------------------------------


def test_an_order_with_a_request_cannot_move_to_another_customer(billing):
    req = apply()
    before = Order.objects.get(external_id="ORD-1")
    r = put(billing, URL, order_body(customer_id="cus_2"))
    assert r.status_code == 409, r.content
    error = r.json()["error"]
    assert error["field"] == "customer_id" and error["fields"] == ["customer_id"]
    assert req.public_id in error["message"] and "cus_1" in error["message"]
    unchanged(before)


def test_even_a_closed_request_keeps_the_order_with_its_customer(billing):
    req = apply()
    s.refund_request_withdraw(customer=req.customer, public_id=req.public_id)
    r = put(billing, URL, order_body(customer_id="cus_2"))
    assert r.status_code == 409 and r.json()["error"]["field"] == "customer_id"
    assert "was made on it" in r.json()["error"]["message"]


# --- the CSV import refuses the same, row by row -------------------------------------------------------------------


HEADER = "order_id,customer_id,plan_id,amount,currency,purchased_at,sales_channel,payment_method,gateway," \
         "gateway_charge_ref,channel_fee\n"


def test_the_csv_import_refuses_the_same_per_row(approved, tmp_path):
    when = BOUGHT.isoformat()
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "\n".join([
        f"ORD-1,cus_1,yearly,10.00,CNY,{when},web,alipay,sandbox,ch_0001,0.60",   # line 2: amount of a refunded order
        f"ORD-1,cus_2,yearly,100.00,CNY,{when},web,alipay,sandbox,ch_0001,0.60",  # line 3: another customer
        f"ORD-1,cus_1,yearly,100.00,CNY,{when},web,alipay,sandbox,ch_0001,0.60",  # line 4: unchanged: fine
        f"ORD-2,cus_2,yearly,100.00,CNY,{when},web,alipay,sandbox,ch_0002,0.60",  # line 5: a new order: fine
    ]) + "\n", encoding="utf-8")
    before = Order.objects.get(external_id="ORD-1")
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 row"):
        call_command("import", "orders", str(path), stdout=err, stderr=err)
    report = err.getvalue()
    assert "orders.csv:2: amount: cannot change once a refund exists" in report, report
    assert "orders.csv:3: customer_id: " in report, report
    assert "orders.csv:4:" not in report and "orders.csv:5:" not in report
    unchanged(before)
    assert Order.objects.filter(external_id="ORD-2").exists()


def test_the_csv_import_reads_price_due(billing, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,plan_id,amount,currency,purchased_at,sales_channel,payment_method,"
                    f"price_due\nORD-3,cus_1,yearly,80.00,CNY,{BOUGHT.isoformat()},web,card,80.00\n"
                    f"ORD-4,cus_1,yearly,80.00,CNY,{BOUGHT.isoformat()},web,card,\n"
                    f"ORD-5,cus_1,yearly,80.00,CNY,{BOUGHT.isoformat()},web,card,80.001\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 row"):
        call_command("import", "orders", str(path), stdout=err, stderr=err)
    assert "orders.csv:4: price_due:" in err.getvalue()
    assert Order.objects.get(external_id="ORD-3").price_due_minor == 8000
    assert Order.objects.get(external_id="ORD-4").price_due_minor is None


# --- and the admin, which could otherwise edit them by hand --------------------------------------------------------


def test_the_admin_shows_frozen_fields_read_only(approved, admin_client):
    order = Order.objects.get(external_id="ORD-1")
    html = admin_client.get(f"/admin/billing/order/{order.pk}/change/").content.decode()
    for name in ("amount_minor", "currency", "gateway", "gateway_charge_ref", "customer", "refunded_minor"):
        assert f'name="{name}"' not in html, name
    assert 'name="promotional"' in html and 'name="price_due_minor"' in html
    fresh = Order.objects.create(external_id="ORD-9", customer=order.customer, plan=order.plan, amount_minor=100,
                                 currency="CNY", purchased_at=BOUGHT, sales_channel="web", payment_method="card")
    html = admin_client.get(f"/admin/billing/order/{fresh.pk}/change/").content.decode()
    assert 'name="amount_minor"' in html and 'name="refunded_minor"' not in html

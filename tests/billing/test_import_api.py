"""The billing import API: idempotent upserts, exact money, 4xx naming the field, 401 without a key."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from refunddesk.billing.models import Customer, Order, Plan, SupportContact, UsageRecord

pytestmark = pytest.mark.django_db


def put(client: Client, url: str, body: dict | str):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.put(url, data=data, content_type="application/json")


@pytest.fixture
def seeded(api):
    assert put(api, "/api/v1/customers/cus_1", {"email": "li@example.test", "name": "李雷", "region": "cn-east",
                                                "language": "zh-hans"}).status_code == 201
    assert put(api, "/api/v1/plans/monthly", {"name": "Monthly", "period_days": 30, "refund_window_days": 7,
                                              "trial_hours": 24, "price": "30.00", "currency": "CNY"}).status_code == 201
    return api


def order_body(**overrides):
    body = {
        "customer_id": "cus_1", "plan_id": "monthly", "amount": "30.00", "currency": "CNY",
        "purchased_at": (timezone.now() - dt.timedelta(days=1)).isoformat(), "sales_channel": "web",
        "payment_method": "alipay", "gateway": "alipay", "gateway_charge_ref": "2026112200001",
        "channel_fee": "0.18",
    }
    body.update(overrides)
    return body


def test_repeated_upserts_change_nothing(seeded):
    body = order_body()
    first = put(seeded, "/api/v1/orders/ORD-1", body)
    assert first.status_code == 201
    updated_at = Order.objects.get().updated_at
    for _ in range(3):
        again = put(seeded, "/api/v1/orders/ORD-1", body)
        assert again.status_code == 200
        assert again.json() == first.json()
    assert Order.objects.count() == 1
    assert Order.objects.get().updated_at == updated_at  # not even touched
    # and a real change is applied
    changed = put(seeded, "/api/v1/orders/ORD-1", order_body(promotional=True))
    assert changed.status_code == 200 and changed.json()["promotional"] is True


def test_customer_plan_usage_and_support_upserts(seeded):
    assert put(seeded, "/api/v1/customers/cus_1", {"email": "li@example.test", "name": "李雷", "region": "cn-east",
                                                   "language": "zh-hans"}).status_code == 200
    assert Customer.objects.count() == 1 and Plan.objects.count() == 1
    put(seeded, "/api/v1/orders/ORD-1", order_body())
    usage = {"days_used": "3.5", "paid_features_used": True, "quota_used_ratio": "0.25"}
    for _ in range(2):
        r = put(seeded, "/api/v1/orders/ORD-1/usage", usage)
        assert r.status_code == 200, r.content
    assert UsageRecord.objects.count() == 1
    ticket = {"customer_id": "cus_1", "order_id": "ORD-1", "topic": "Cannot connect",
              "opened_at": (timezone.now() - dt.timedelta(hours=2)).isoformat(), "resolved": False}
    assert put(seeded, "/api/v1/support-contacts/T-1", ticket).status_code == 201
    assert put(seeded, "/api/v1/support-contacts/T-1", ticket).status_code == 200
    assert SupportContact.objects.count() == 1


def test_json_numbers_are_never_floats(seeded):
    # 0.1 + 0.2 style amounts sent as JSON numbers stay exact all the way to the database.
    raw = json.dumps(order_body()).replace('"30.00"', "30.30").replace('"0.18"', "0.10")
    assert put(seeded, "/api/v1/orders/ORD-2", raw).status_code == 201
    order = Order.objects.get(external_id="ORD-2")
    assert order.amount_minor == 3030 and order.channel_fee_minor == 10
    assert put(seeded, "/api/v1/orders/ORD-3", order_body(amount="0.30")).json()["amount"] == "0.30"


def test_jpy_orders_have_no_decimals(seeded):
    r = put(seeded, "/api/v1/orders/ORD-JP", order_body(amount="1200", currency="JPY", channel_fee="36"))
    assert r.status_code == 201 and r.json()["amount"] == "1200"
    bad = put(seeded, "/api/v1/orders/ORD-JP2", order_body(amount="1200.50", currency="JPY", channel_fee="0"))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "amount"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "30.001"}, "amount"),
        ({"purchased_at": (timezone.now() + dt.timedelta(days=3)).isoformat()}, "purchased_at"),
        ({"customer_id": "nobody"}, "customer_id"),
        ({"plan_id": "no-such-plan"}, "plan_id"),
        ({"sales_channel": "mall"}, "sales_channel"),
        ({"payment_method": "cash"}, "payment_method"),
        ({"channel_fee": "31.00"}, "channel_fee"),
        ({"amount": "thirty"}, "amount"),
    ],
)
def test_bad_order_input_is_refused_naming_the_field_and_stores_nothing(seeded, overrides, field):
    response = put(seeded, "/api/v1/orders/ORD-BAD", order_body(**overrides))
    assert 400 <= response.status_code < 500
    body = response.json()
    if "error" in body:
        assert body["error"]["field"] == field, body
    else:  # schema validation by django-ninja: the location names the field
        assert any(field in detail["loc"] for detail in body["detail"]), body
    assert not Order.objects.filter(external_id="ORD-BAD").exists()


def test_bad_update_leaves_the_order_as_it_was(seeded):
    put(seeded, "/api/v1/orders/ORD-1", order_body())
    before = Order.objects.values().get(external_id="ORD-1")
    response = put(seeded, "/api/v1/orders/ORD-1", order_body(amount="99.999"))
    assert response.status_code == 422
    assert Order.objects.values().get(external_id="ORD-1") == before


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", "Basic Zm9vOmJhcg==", "Bearer "])
def test_missing_or_wrong_api_key_gives_401(db, header):
    client = Client(headers={"Authorization": header} if header else {})
    response = put(client, "/api/v1/customers/cus_9", {"email": "x@example.test", "region": "hk"})
    assert response.status_code == 401
    assert not Customer.objects.exists()


def test_inactive_key_is_refused(api, api_key):
    from refunddesk.core.models import ApiKey

    ApiKey.objects.update(active=False)
    assert put(api, "/api/v1/customers/cus_9", {"email": "x@example.test", "region": "hk"}).status_code == 401


def test_key_is_stored_hashed(api_key):
    from refunddesk.core.models import ApiKey

    row = ApiKey.objects.get()
    assert api_key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64

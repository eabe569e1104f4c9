"""Shared pieces of the sign-in tests: the trial policy, and a merchant that feeds refunddesk through the API only."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from django.test import Client
from django.utils import timezone

POLICY = Path(__file__).with_name("signin_policy.yaml")


def publish_trial_policy():
    from refunddesk.policies.services import policy_publish

    return policy_publish(document=POLICY.read_text(encoding="utf-8"),
                          cases=POLICY.with_name("signin_policy.cases.yaml").read_text(encoding="utf-8"),
                          effective_at=timezone.now() - dt.timedelta(days=400))


def put(api: Client, path: str, body: dict):
    return api.put(path, data=json.dumps(body), content_type="application/json")


def post(api: Client, path: str, body: dict):
    return api.post(path, data=json.dumps(body), content_type="application/json")


def merchant_feeds(api: Client, *, customer_id: str = "cus_api_1", email: str = "mei@shop.example",
                   order_id: str = "ORD-API-1", gateway: str = "sandbox", language: str = "en", **customer) -> dict:
    """A customer, a plan with a 24-hour trial and an order bought an hour ago, all through the billing API."""
    r = put(api, f"/api/v1/customers/{customer_id}",
            {"email": email, "name": "Mei", "region": "cn-east", "language": language, **customer})
    assert r.status_code in (200, 201), r.content
    r = put(api, "/api/v1/plans/trial-monthly", {"name": "Monthly", "period_days": 30, "refund_window_days": 7,
                                                 "trial_hours": 24, "price": "30.00", "currency": "CNY",
                                                 "price_effective_from": "2025-01-01T00:00:00+08:00"})
    assert r.status_code in (200, 201), r.content
    bought = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    r = put(api, f"/api/v1/orders/{order_id}", {
        "customer_id": customer_id, "plan_id": "trial-monthly", "amount": "30.00", "currency": "CNY",
        "purchased_at": bought, "sales_channel": "web", "payment_method": "alipay", "gateway": gateway,
        "gateway_charge_ref": f"ch_{order_id}"})
    assert r.status_code in (200, 201), r.content
    return r.json()


def links_in(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)

"""Frequent-refunder facts and the case page's warning (issue 20; seed 000 FAQ Q4: heavy use while a request is
under review may affect the result)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from refunddesk.billing import services as billing_services
from refunddesk.policies.services import policy_publish
from refunddesk.refunds import services as s
from refunddesk.refunds.facts import facts_for_order
from tests.console.conftest import client_for
from tests.factories import CustomerFactory, OrderFactory, PlanFactory, UsageFactory

pytestmark = pytest.mark.django_db
VPN = Path(__file__).resolve().parents[2] / "policies" / "subscription-vpn.yaml"


@pytest.fixture
def vpn(db):
    return policy_publish(document=VPN.read_text(encoding="utf-8"),
                          cases=VPN.with_name("subscription-vpn.cases.yaml").read_text(encoding="utf-8"),
                          effective_at=timezone.now() - dt.timedelta(days=400))


def test_the_facts_say_how_much_of_a_customers_orders_were_refunded(db):
    customer = CustomerFactory()
    plan = PlanFactory()
    now = timezone.now()
    refunded = OrderFactory(customer=customer, plan=plan, refunded_minor=1000, purchased_at=now - dt.timedelta(days=90))
    OrderFactory(customer=customer, plan=plan, purchased_at=now - dt.timedelta(days=500), refunded_minor=3000)  # too old
    OrderFactory(customer=customer, plan=plan, purchased_at=now - dt.timedelta(days=60))
    current = OrderFactory(customer=customer, plan=plan, purchased_at=now - dt.timedelta(days=1))
    UsageFactory(order=current, days_used="1.00", quota_used_ratio="0.1000")
    facts = facts_for_order(order=current, reason="other", now=now)
    assert facts["customer"]["refunded_share"] == round(1 / 3, 4)
    assert facts["usage"]["since_request_days"] == "0" and facts["usage"]["since_request_quota_ratio"] == 0.0
    assert refunded.pk


def test_use_during_review_is_a_fact_and_a_warning_with_what_triggered_it(vpn, agent):
    customer = CustomerFactory(language="en")
    order = OrderFactory(customer=customer, plan=PlanFactory(external_id="vpn-monthly"),
                         purchased_at=timezone.now() - dt.timedelta(days=3))
    UsageFactory(order=order, days_used="3.00", quota_used_ratio="0.1000")
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="not_satisfied")
    assert req.status == "in_review" and req.facts["usage"]["since_request_days"] == "0"
    client = client_for(agent)
    html = client.get(f"/console/requests/{req.public_id}/").content.decode()
    assert 'id="frequent"' not in html  # nothing used since, no other refunds
    billing_services.usage_report(order_external_id=order.external_id, days_used="5.5", paid_features_used=True,
                                  quota_used_ratio="0.4")
    html = client.get(f"/console/requests/{req.public_id}/").content.decode()
    assert 'data-fact="usage.since_request_days"' in html and "2.5 days of service and 30% of the quota" in html
    assert "heavy-use-during-review says: review (it said review at submission)" in html
    zh = client.get(f"/console/requests/{req.public_id}/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "2.5" in zh and "heavy-use-during-review" in zh and "审核期间" in zh


def test_a_customer_whose_orders_were_mostly_refunded_is_flagged(vpn, agent):
    customer = CustomerFactory(language="en")
    plan = PlanFactory(external_id="vpn-monthly")
    OrderFactory(customer=customer, plan=plan, refunded_minor=3000, purchased_at=timezone.now() - dt.timedelta(days=40))
    order = OrderFactory(customer=customer, plan=plan, purchased_at=timezone.now() - dt.timedelta(days=3))
    UsageFactory(order=order)
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="not_satisfied")
    html = client_for(agent).get(f"/console/requests/{req.public_id}/").content.decode()
    assert 'data-fact="customer.refunded_share"' in html and "50% of this customer&#x27;s orders" in html

"""Issue 14.6: the demo has a customer for every path, each with a working sign-in."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from refunddesk.billing.models import Order
from refunddesk.demo import CUSTOMER_PASSWORD, SHOWCASE
from refunddesk.portal.selectors import policy_preview
from refunddesk.refunds.models import RefundRequest

pytestmark = pytest.mark.django_db

REASONS = ("changed_mind", "technical_issue", "not_satisfied", "other")


def test_every_path_has_a_demo_customer_who_can_sign_in():
    out = io.StringIO()
    call_command("demo", "--customers", "40", stdout=out)
    printed = out.getvalue()
    expected = {"trial@": "approve", "review@": "review", "late@": "reject", "appstore@": "redirect"}
    for show in SHOWCASE:
        assert show.email in printed and show.what.split(":")[0] in printed
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        r = client.post("/accounts/login/", {"login": show.email, "password": CUSTOMER_PASSWORD})
        assert r.status_code == 302 and r["Location"] == "/portal/", show.email
        order = Order.objects.get(customer__email=show.email)
        assert order.external_id in client.get("/portal/").content.decode()
        prefix = show.email.split("@")[0] + "@"
        if prefix in expected:  # the same outcome whatever reason is chosen
            preview = policy_preview(order=order)
            assert {preview.for_reason(r).outcome for r in REASONS} == {expected[prefix]}, show.email
    claim = RefundRequest.objects.get(customer__email="outage@demo.refunddesk.localhost")
    assert claim.reason == "service_outage" and claim.policy_clause == "major-outage"
    assert claim.status == "refunding" and claim.refund.status == "pending"  # open: finance pays it


def test_the_showcase_orders_keep_their_age(settings):
    import datetime as dt

    from django.utils import timezone

    from refunddesk.demo import demo_showcase_refresh

    call_command("demo", "--customers", "20", stdout=io.StringIO())
    Order.objects.filter(external_id="ORD-DEMO-1").update(purchased_at=timezone.now() - dt.timedelta(days=9))
    assert demo_showcase_refresh() >= 1
    order = Order.objects.get(external_id="ORD-DEMO-1")
    assert timezone.now() - order.purchased_at < dt.timedelta(hours=3)

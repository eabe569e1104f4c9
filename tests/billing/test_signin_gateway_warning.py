"""Issue 14.6: an order on a gateway this installation has no settings for is warned about when pushed and at
approval; the customer is never told the money is on its way."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from refunddesk.payments.models import Refund
from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from tests.factories import CustomerFactory, OrderFactory, UsageFactory, UserFactory
from tests.portal.signin_helpers import merchant_feeds, publish_trial_policy
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


def test_the_put_answer_warns_about_an_unconfigured_gateway(api):
    body = merchant_feeds(api, gateway="stripe")
    assert len(body["warnings"]) == 1 and "stripe" in body["warnings"][0] and "is configured" in body["warnings"][0]
    assert api.get("/api/v1/orders/ORD-API-1").json()["warnings"] == body["warnings"]
    assert merchant_feeds(api, order_id="ORD-API-2", gateway="sandbox")["warnings"] == []
    assert merchant_feeds(api, order_id="ORD-API-3", gateway="app_store")["warnings"] == []  # the store refunds


def test_a_policy_approval_is_held_for_finance_and_the_customer_is_not_told_it_is_on_its_way(api, published_policy):
    publish_trial_policy()
    merchant_feeds(api, gateway="wechat_pay")
    user = UserFactory(username="mei", email="mei@shop.example")
    customer = RefundRequest._meta.get_field("customer").related_model.objects.get(external_id="cus_api_1")
    customer.user = user
    customer.save()
    req = s.refund_request_submit(customer=customer, order_number="ORD-API-1", reason="changed_mind")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    page = client.get(f"/portal/requests/{req.public_id}/").content.decode()
    assert 'id="refund-held"' in page and "is being refunded" not in page
    run_tasks()  # the worker has no such gateway either: finance sees it
    refund = Refund.objects.get(request=req)
    assert refund.status == "needs_attention" and "wechat_pay" in refund.last_error
    decided = next(m for m in mail.outbox if "approved" in m.subject)
    assert "will go back to the account you paid with" not in decided.body
    assert "finance team is arranging" in decided.body
    page = client.get(f"/portal/requests/{req.public_id}/").content.decode()
    assert 'id="refund-held"' in page and "is being refunded" not in page


def test_the_agent_sees_it_at_approval(published_policy, agent):
    customer = CustomerFactory(user=UserFactory(username="cust_held"))
    order = OrderFactory(customer=customer, external_id="ORD-HELD", gateway="alipay")
    UsageFactory(order=order)
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="other")
    assert req.status == "in_review"
    staff = Client(HTTP_ACCEPT_LANGUAGE="en")
    staff.force_login(agent)
    r = staff.post(f"/console/requests/{req.public_id}/approve/",
                   {"approve-reason": "Fair enough.", "approve-clause": "default", "approve-amount": "",
                    "approve-override_reason": ""}, follow=True)
    text = r.content.decode()
    assert "Approved, but the refund cannot be sent" in text and "alipay" in text
    assert Refund.objects.get(request=req).status == "pending"  # the worker will find no gateway: finance

"""Event sequences that real gateways produce and that other systems' public bug reports show going wrong
(issue 13, items 2-4): a refund that fails after succeeding, a refund made in the dashboard and announced
only by a charge summary, a webhook whose processing fails halfway and is retried. Real HTTP fakes of
Stripe, WeChat Pay and Alipay on 127.0.0.1; the webhooks go through /webhooks/<gateway>/."""

from __future__ import annotations

import io
import time

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from refunddesk.billing.models import Order
from refunddesk.payments.models import Refund, RefundStatus, WebhookReceipt
from refunddesk.payments.services import refund_retry
from refunddesk.refunds import services as rs
from refunddesk.refunds.states import Status
from tests.factories import OrderFactory
from tests.payments.conftest import database_refuses_updates
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


def stripe_hook(fake, refund_id=None, *, event_type="refund.updated", charge=None):
    headers, body = fake.signed_notification(refund_id, event_type=event_type, charge=charge)
    return Client().post("/webhooks/stripe/", data=body, content_type="application/json",
                         headers={"Stripe-Signature": headers["Stripe-Signature"]})


@pytest.fixture
def stripe_order(stripe_gateway, customer):
    charge = stripe_gateway.add_charge(3000, "cny")
    order = OrderFactory(customer=customer, gateway="stripe", payment_method="card", gateway_charge_ref=charge.id,
                         external_id="ORD-ST", amount_minor=3000)
    order.charge = charge
    return order


def refunded_through_refunddesk(customer, order, agent, amount="30.00"):
    req = rs.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    req = rs.refund_request_approve(public_id=req.public_id, user=agent, amount=amount, reason="Broken",
                                    clause="default")
    run_tasks()
    refund = Refund.objects.get(request=req)
    assert refund.status == RefundStatus.SUCCEEDED
    return req, refund


def finance_page(finance) -> str:
    client = Client()
    client.force_login(finance)
    response = client.get("/console/finance/")
    assert response.status_code == 200
    return response.content.decode()


# --- 2. a refund that fails after it succeeded -----------------------------------------------------


def test_a_stripe_refund_that_fails_after_succeeding_is_reversed_everywhere(published_policy, stripe_order,
                                                                           stripe_gateway, customer, agent,
                                                                           finance):
    req, refund = refunded_through_refunddesk(customer, stripe_order, agent)
    mail.outbox.clear()
    stripe_gateway.set_status(refund.gateway_ref, "failed", "expired_or_canceled_card")
    response = stripe_hook(stripe_gateway, refund.gateway_ref, event_type="charge.refund.updated")
    assert response.status_code == 200
    run_tasks()  # the payload contradicts a final state: Stripe is asked, and answers "failed"

    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and refund.reversed_at is not None
    assert "expired_or_canceled_card" in refund.failure_reason
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 0  # the money is not with the customer
    req.refresh_from_db()
    assert req.status == Status.REFUND_FAILED
    assert req.timeline.filter(action="refund_reverse", visible_to_customer=True).count() == 1
    [email] = mail.outbox
    assert "came back" in email.subject and "30.00" in email.body and customer.email in email.to
    page = finance_page(finance)
    assert req.public_id in page and "Reversed after success" in page
    # the customer's page shows it
    client = Client()
    client.force_login(customer.user)
    assert "Your refund came back to us" in client.get(f"/portal/requests/{req.public_id}/").content.decode()
    # finance sends it again: a new key, since Stripe holds the failed one under the old key
    refund_retry(refund_id=refund.pk, user=finance)
    run_tasks()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.idempotency_key.endswith("-2")
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 3000 == stripe_gateway.succeeded_total(stripe_order.charge)


def test_a_stale_success_delivered_after_the_failure_changes_nothing(published_policy, stripe_order,
                                                                    stripe_gateway, customer, agent):
    """Out of order: Stripe's `succeeded` event of the same refund arrives after its `failed` one."""
    req, refund = refunded_through_refunddesk(customer, stripe_order, agent)
    stale_success = stripe_gateway.signed_notification(refund.gateway_ref)  # the event, as first sent
    stripe_gateway.set_status(refund.gateway_ref, "failed", "lost_or_stolen_card")
    assert stripe_hook(stripe_gateway, refund.gateway_ref, event_type="refund.failed").status_code == 200
    run_tasks()
    headers, body = stale_success
    Client().post("/webhooks/stripe/", data=body, content_type="application/json",
                  headers={"Stripe-Signature": headers["Stripe-Signature"]})
    run_tasks()
    refund.refresh_from_db()
    stripe_order.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and stripe_order.refunded_minor == 0


@pytest.fixture
def wechat_configured(settings, wechat_fake, merchant_keys, gateway_keys):
    from refunddesk.payments import registry
    from tests.payments.fakes.wechat_fake import APIV3_KEY, MCHID, MERCHANT_SERIAL, PLATFORM_KEY_ID

    settings.REFUNDDESK_GATEWAYS = {**settings.REFUNDDESK_GATEWAYS, "wechat_pay": {
        "mchid": MCHID, "merchant_serial_no": MERCHANT_SERIAL, "merchant_private_key": merchant_keys.private_pem,
        "apiv3_key": APIV3_KEY, "platform_public_key": gateway_keys.public_pem,
        "platform_public_key_id": PLATFORM_KEY_ID, "api_base": wechat_fake.url, "timeout": 1}}
    registry.reset()
    yield wechat_fake
    registry.reset()


def test_a_wechat_refund_abnormal_then_completed_by_the_merchant_is_recorded(published_policy, wechat_configured,
                                                                            customer, agent, finance):
    """Same kind: WeChat Pay's ABNORMAL (the buyer's card was closed) is not final. Once the merchant
    re-routes the refund in the merchant platform, WeChat reports SUCCESS for the same out_refund_no."""
    trade = wechat_configured.add_trade(3000)
    order = OrderFactory(customer=customer, gateway="wechat_pay", payment_method="wechat_pay",
                         gateway_charge_ref=trade.out_trade_no, amount_minor=3000)
    req = rs.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    rs.refund_request_approve(public_id=req.public_id, user=agent, amount="30.00", reason="Broken", clause="default")
    run_tasks()
    refund = Refund.objects.get()
    wechat_configured.complete(refund.idempotency_key, "ABNORMAL")
    notified = wechat_configured.refunds[refund.idempotency_key]

    def post(event_type):
        headers, body = wechat_configured.signed_notification(notified, event_type=event_type)
        return Client().post("/webhooks/wechat_pay/", data=body, content_type="application/json", headers=headers)

    assert post("REFUND.ABNORMAL").status_code == 204
    run_tasks()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.NEEDS_ATTENTION and "ABNORMAL" in refund.last_error
    assert req.public_id in finance_page(finance)
    wechat_configured.complete(refund.idempotency_key, "SUCCESS")  # the merchant re-routed it
    assert post("REFUND.SUCCESS").status_code == 204
    run_tasks()
    refund.refresh_from_db()
    order.refresh_from_db()
    req.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and order.refunded_minor == 3000
    assert req.status == Status.REFUNDED


def test_a_dashboard_refund_that_fails_later_is_taken_off_the_order(stripe_order, stripe_gateway, finance):
    """Same kind, for a refund made outside refunddesk: recorded when it succeeded, reversed when it failed."""
    made = stripe_gateway.dashboard_refund(stripe_order.charge, 1000)
    assert stripe_hook(stripe_gateway, made["id"], event_type="refund.created").status_code == 200
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 1000
    stripe_gateway.set_status(made["id"], "failed", "expired_or_canceled_card")
    assert stripe_hook(stripe_gateway, made["id"], event_type="refund.failed").status_code == 200
    run_tasks()
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 0
    external = Refund.objects.get(gateway_ref=made["id"])
    assert external.status == RefundStatus.FAILED and external.reversed_at
    assert external.idempotency_key in finance_page(finance)


# --- 3. a dashboard refund announced only by a charge summary ---------------------------------------


def test_a_dashboard_refund_announced_only_by_charge_refunded_is_recorded(published_policy, stripe_order,
                                                                         stripe_gateway, customer):
    stripe_gateway.dashboard_refund(stripe_order.charge, 1000)
    response = stripe_hook(stripe_gateway, event_type="charge.refunded", charge=stripe_order.charge)
    assert response.status_code == 200
    run_tasks()  # the charge's refunds are listed at Stripe
    external = Refund.objects.get()
    assert (external.origin, external.amount_minor, external.status) == ("gateway_dashboard", 1000, "succeeded")
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 1000
    # a new request offers what is left, not 30.00
    req = rs.refund_request_submit(customer=customer, order_number=stripe_order.external_id, reason="other")
    from refunddesk.console.selectors import default_amount

    assert default_amount(req).minor == 2000


def test_a_missed_webhook_is_caught_by_the_periodic_reconciliation(published_policy, stripe_order, stripe_gateway,
                                                                  customer, agent):
    """No webhook at all: the dashboard refund is found when the charges with recent activity are listed."""
    from refunddesk.payments.services import charges_reconcile_enqueue

    refunded_through_refunddesk(customer, stripe_order, agent, amount="10.00")
    stripe_gateway.dashboard_refund(stripe_order.charge, 500)
    assert charges_reconcile_enqueue() == 1
    run_tasks()
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 1500 == stripe_gateway.succeeded_total(stripe_order.charge)
    # and by hand
    stripe_gateway.dashboard_refund(stripe_order.charge, 200)
    out = io.StringIO()
    call_command("reconcile", "--charges", stdout=out)
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 1700 and "1 recorded" in out.getvalue()


# --- 4. a webhook whose processing fails halfway is applied by the retry ------------------------------


def test_a_webhook_that_fails_halfway_is_applied_when_stripe_retries(published_policy, stripe_order,
                                                                    stripe_gateway, customer, agent):
    stripe_gateway.refund_status = "pending"
    req = rs.refund_request_submit(customer=customer, order_number=stripe_order.external_id, reason="other")
    rs.refund_request_approve(public_id=req.public_id, user=agent, amount="30.00", reason="ok", clause="default")
    run_tasks()
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.SUBMITTED
    Refund.objects.filter(pk=refund.pk).update(next_check_at=None)  # nothing else will settle it
    stripe_gateway.set_status(refund.gateway_ref, "succeeded")
    headers, body = stripe_gateway.signed_notification(refund.gateway_ref)

    def deliver():
        return Client().post("/webhooks/stripe/", data=body, content_type="application/json",
                             headers={"Stripe-Signature": headers["Stripe-Signature"]})

    with database_refuses_updates("payments_refund"):  # a transient database error while applying it
        assert deliver().status_code == 503
    assert not WebhookReceipt.objects.exists()  # nothing half-written: not even the receipt
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUBMITTED
    assert deliver().status_code == 200  # Stripe sends the same event again
    refund.refresh_from_db()
    stripe_order.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and stripe_order.refunded_minor == 3000
    assert deliver().status_code == 200  # and a third time: a replay changes nothing
    assert WebhookReceipt.objects.count() == 1
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 3000


def test_an_alipay_console_refund_is_not_lost_when_alipay_cannot_be_asked_at_that_moment(alipay_configured):
    """Same kind: the notification's follow-up needs Alipay's refund query. Before, a failure there was
    answered "unknown refund" with the receipt kept, so Alipay's retries were ignored and the refund was
    never recorded. Now the look-up is a task that tries again until Alipay answers."""
    trade = alipay_configured.add_trade(9900)
    order = OrderFactory(gateway="alipay", gateway_charge_ref=trade.out_trade_no, amount_minor=9900)
    made = alipay_configured.dashboard_refund(trade, 1200)
    alipay_configured.query_failures = 1  # Alipay's gateway answers 503 once
    headers, body = alipay_configured.signed_notification(made)
    assert Client().post("/webhooks/alipay/", data=body, content_type=headers["Content-Type"]).status_code == 200
    run_tasks()
    assert not Refund.objects.exists()
    time.sleep(2.1)  # the task's first backoff
    run_tasks()
    order.refresh_from_db()
    assert Refund.objects.get().amount_minor == 1200 and order.refunded_minor == 1200


def test_the_order_total_never_goes_above_what_was_paid(stripe_order, stripe_gateway):
    """A refund reported for more than is left on the order is never booked; finance sees it."""
    Order.objects.filter(pk=stripe_order.pk).update(refunded_minor=2500)  # 25.00 already refunded elsewhere
    made = stripe_gateway.dashboard_refund(stripe_order.charge, 1000)
    assert stripe_hook(stripe_gateway, made["id"], event_type="refund.created").status_code == 200
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 2500
    assert Refund.objects.get().status == RefundStatus.NEEDS_ATTENTION

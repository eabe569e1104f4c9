"""Refund execution end to end against a fake Stripe on 127.0.0.1: retries, declines, lost answers,
webhooks, reconciliation, the service.terminate webhook and finance's manual refunds."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.test import Client

from refunddesk.notify import webhooks as outbound
from refunddesk.notify.models import WebhookDelivery
from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.payments.services import refund_execute_once, refund_mark_paid, refund_retry
from refunddesk.refunds import services as rs
from refunddesk.refunds.states import Status
from tests.factories import OrderFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_order(stripe_gateway, customer):
    charge = stripe_gateway.add_charge(3000, "cny")
    order = OrderFactory(customer=customer, gateway="stripe", payment_method="card", gateway_charge_ref=charge.id,
                         external_id="ORD-ST")
    order.charge = charge
    return order


def approve(customer, order, agent, amount="30.00"):
    req = rs.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    return rs.refund_request_approve(public_id=req.public_id, user=agent, amount=amount, reason="Broken",
                                     clause="default")


def test_approval_refunds_once_through_stripe(published_policy, stripe_order, customer, agent):
    req = approve(customer, stripe_order, agent)
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.PENDING and refund.idempotency_key == f"rd-{req.public_id}"
    run_tasks()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.gateway_ref.startswith("re_")
    assert stripe_order.charge.refunded == 3000 and stripe_gateway_count(stripe_order) == 1
    req.refresh_from_db()
    assert req.status == Status.REFUNDED
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 3000 and stripe_order.service_ended_at
    # card: 3-10 business days
    assert (refund.arrival_min_days, refund.arrival_max_days) == (3, 10) and refund.arrival_by


def stripe_gateway_count(order) -> int:
    from refunddesk.payments.registry import gateway_for

    return len([r for r in gateway_for("stripe").client.v1.refunds.list(params={"charge": order.gateway_charge_ref})])


def test_transient_errors_are_retried_with_the_same_key(published_policy, stripe_order, stripe_gateway, customer,
                                                         agent):
    stripe_gateway.faults.fail_5xx = 2
    approve(customer, stripe_order, agent)
    refund = Refund.objects.get()
    assert refund_execute_once(refund_id=refund.pk).status == RefundStatus.PENDING  # 503: back to pending
    assert refund_execute_once(refund_id=refund.pk).status == RefundStatus.PENDING  # 503 again
    assert refund_execute_once(refund_id=refund.pk).status == RefundStatus.SUCCEEDED
    assert stripe_gateway.refund_count == 1
    keys = {r.header("idempotency-key") for r in stripe_gateway.server.requests if r.method == "POST"}
    assert keys == {refund.idempotency_key}


def test_a_declined_refund_fails_with_the_gateways_reason(published_policy, stripe_order, stripe_gateway, customer,
                                                           agent):
    stripe_gateway.faults.decline = "charge_already_refunded"
    req = approve(customer, stripe_order, agent)
    run_tasks()
    refund = Refund.objects.get()
    req.refresh_from_db()
    assert refund.status == RefundStatus.FAILED and "refunded" in refund.failure_reason.lower()
    assert req.status == Status.REFUND_FAILED
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 0


def test_a_lost_answer_is_settled_by_asking_never_by_sending_again(published_policy, stripe_order, stripe_gateway,
                                                                    customer, agent):
    stripe_gateway.faults.drop_after_refund = 1
    approve(customer, stripe_order, agent)
    refund = Refund.objects.get()
    assert refund_execute_once(refund_id=refund.pk).status == RefundStatus.SUBMITTED  # ambiguous
    assert stripe_gateway.refund_count == 1
    settled = refund_execute_once(refund_id=refund.pk)  # looks it up
    assert settled.status == RefundStatus.SUCCEEDED
    assert stripe_gateway.refund_count == 1
    posts = [r for r in stripe_gateway.server.requests if r.method == "POST"]
    assert len(posts) == 1


def test_a_slow_gateway_is_ambiguous_then_reconciled(published_policy, stripe_order, stripe_gateway, customer, agent):
    stripe_gateway.faults.slow = 2.0
    approve(customer, stripe_order, agent)
    refund = Refund.objects.get()
    assert refund_execute_once(refund_id=refund.pk).status == RefundStatus.SUBMITTED
    out = io.StringIO()
    call_command("reconcile", "--older-than", "0", stdout=out)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and stripe_gateway.refund_count == 1
    assert "1 refund(s) looked at" in out.getvalue()


def test_pending_at_stripe_settles_by_webhook_and_replays_change_nothing(published_policy, stripe_order,
                                                                          stripe_gateway, customer, agent):
    stripe_gateway.refund_status = "pending"
    req = approve(customer, stripe_order, agent)
    refund = Refund.objects.get()
    refund = refund_execute_once(refund_id=refund.pk)
    assert refund.status == RefundStatus.SUBMITTED
    stripe_gateway.set_status(refund.gateway_ref, "succeeded")
    headers, body = stripe_gateway.signed_notification(refund.gateway_ref)
    client = Client()
    post = lambda h, b: client.post("/webhooks/stripe/", data=b, content_type="application/json",  # noqa: E731
                                    headers={k: v for k, v in h.items() if k != "Content-Type"})
    assert post(headers, body).status_code == 200
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 3000
    assert post(headers, body).status_code == 200  # the same event again
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 3000
    req.refresh_from_db()
    assert req.status == Status.REFUNDED and req.timeline.filter(action="refund_succeed").count() == 1


def test_bad_signature_and_stale_timestamp_are_refused_and_change_nothing(published_policy, stripe_order,
                                                                           stripe_gateway, customer, agent):
    stripe_gateway.refund_status = "pending"
    approve(customer, stripe_order, agent)
    refund = refund_execute_once(refund_id=Refund.objects.get().pk)
    stripe_gateway.set_status(refund.gateway_ref, "succeeded")
    client = Client()
    for headers, body in (
        stripe_gateway.signed_notification(refund.gateway_ref, secret="whsec_someone_else"),
        stripe_gateway.signed_notification(refund.gateway_ref, timestamp=1_000_000_000),
    ):
        response = client.post("/webhooks/stripe/", data=body, content_type="application/json",
                               headers={"Stripe-Signature": headers["Stripe-Signature"]})
        assert response.status_code == 400
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUBMITTED


def test_a_refund_made_in_the_dashboard_is_recorded_against_its_order(stripe_order, stripe_gateway):
    made = stripe_gateway.dashboard_refund(stripe_order.charge, 1000)
    headers, body = stripe_gateway.signed_notification(made["id"], event_type="refund.created")
    response = Client().post("/webhooks/stripe/", data=body, content_type="application/json",
                             headers={"Stripe-Signature": headers["Stripe-Signature"]})
    assert response.status_code == 200
    refund = Refund.objects.get()
    assert refund.origin == "gateway_dashboard" and refund.amount_minor == 1000
    stripe_order.refresh_from_db()
    assert stripe_order.refunded_minor == 1000


def test_an_unknown_reference_is_answered_without_error(stripe_gateway):
    charge = stripe_gateway.add_charge(500, "cny")  # not an order of ours
    made = stripe_gateway.dashboard_refund(charge, 500)
    headers, body = stripe_gateway.signed_notification(made["id"], event_type="refund.updated")
    response = Client().post("/webhooks/stripe/", data=body, content_type="application/json",
                             headers={"Stripe-Signature": headers["Stripe-Signature"]})
    assert response.status_code == 200 and not Refund.objects.exists()


class _Receiver(BaseHTTPRequestHandler):
    received: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        if cls.fail_first > 0:
            cls.fail_first -= 1
            self.send_response(500)
            self.end_headers()
            return
        cls.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        return


def test_the_merchants_product_is_told_to_end_the_service(published_policy, customer, order, agent, settings):
    _Receiver.received, _Receiver.fail_first = [], 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.REFUNDDESK_MERCHANT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    settings.REFUNDDESK_MERCHANT_WEBHOOK_SECRET = "s3cret"
    try:
        approve(customer, order, agent)  # sandbox order
        run_tasks()  # the refund succeeds; the first delivery gets a 500 and is re-queued for later
        delivery = WebhookDelivery.objects.get()
        assert delivery.attempts == 1 and delivery.status == "pending" and delivery.last_status_code == 500
        from refunddesk.notify.webhooks import webhook_attempt

        assert webhook_attempt(delivery_id=delivery.pk) is None  # the retry gets through
    finally:
        server.shutdown()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(delivery.log) == 2
    headers, body = _Receiver.received[0]
    assert outbound.verify("s3cret", headers["X-Refunddesk-Signature"], body)
    assert not outbound.verify("other", headers["X-Refunddesk-Signature"], body)
    payload = json.loads(body)
    assert payload["type"] == "service.terminate" and payload["order_id"] == order.external_id


def test_finance_marks_a_manual_refund_paid(published_policy, customer, agent, finance):
    order = OrderFactory(customer=customer, gateway="manual", payment_method="bank_transfer")
    req = approve(customer, order, agent)
    refund = Refund.objects.get()
    run_tasks()
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING  # nothing is sent for a manual gateway
    with pytest.raises(Exception, match="Only finance"):
        refund_mark_paid(refund_id=refund.pk, user=agent, reference="BANK-1")
    refund_mark_paid(refund_id=refund.pk, user=finance, reference="BANK-2026-11-0001")
    refund.refresh_from_db()
    req.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and req.status == Status.REFUNDED
    assert req.timeline.get(action="refund_succeed").actor == finance


def test_finance_retries_a_failed_refund(published_policy, stripe_order, stripe_gateway, customer, agent, finance):
    stripe_gateway.faults.decline = True
    req = approve(customer, stripe_order, agent)
    run_tasks()
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.FAILED
    refund_retry(refund_id=refund.pk, user=finance)
    run_tasks()
    refund.refresh_from_db()
    req.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and req.status == Status.REFUNDED
    assert stripe_gateway.refund_count == 1

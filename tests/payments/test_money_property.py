"""Property: whatever sequence of events one order sees, the money ends up right (issue 13).

Hypothesis draws sequences of what happens around one Stripe charge: refunds made through refunddesk,
refunds made in Stripe's dashboard, Stripe settling them (pending -> succeeded or failed) and failing
succeeded ones later (a closed card), webhooks delivered late, twice, out of order, never, or while the
database refuses writes (answered 503 and retried), the worker running, finance retrying, and
reconciliation runs. The fake Stripe is a real HTTP server on 127.0.0.1 that keeps its own books.

After every step nothing is refunded above what was paid (refunddesk's books nor Stripe's). After the
sequence, once reconciliation has run, the order's refunded amount equals the sum of the refunds Stripe
holds as succeeded, every refund Stripe holds as succeeded is on refunddesk's books, and every refund
that needs a person (failed, reversed, needing attention, in disagreement) is on the finance page.

HYPOTHESIS_PROFILE=thorough runs many more sequences than CI does.
"""

from __future__ import annotations

import itertools

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refunddesk.billing.models import Order
from refunddesk.console.selectors import refunds_needing_attention
from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.payments.services import charge_reconcile, refund_retry, refunds_reconcile
from refunddesk.refunds import services as rs
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import OPEN
from tests.factories import CustomerFactory, OrderFactory
from tests.payments.conftest import database_refuses_updates
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db

PAID = 3000
_orders = itertools.count(1)

settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

amounts = st.sampled_from([100, 500, 1000, 1500, 3000])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("request"), amounts),
        st.tuples(st.just("work")),
        st.tuples(st.just("settle"), st.integers(0, 9), st.sampled_from(["succeeded", "failed"])),
        st.tuples(st.just("dashboard"), amounts, st.sampled_from(["succeeded", "pending"])),
        st.tuples(st.just("deliver"), st.integers(0, 99), st.booleans()),
        st.tuples(st.just("deliver_failing"), st.integers(0, 99)),
        st.tuples(st.just("retry")),
        st.tuples(st.just("reconcile")),
    ),
    min_size=1, max_size=18,
)


class Outbox:
    """The webhooks Stripe would send about one charge, signed when the change happened (so a late one
    carries the state of its time)."""

    def __init__(self, fake, charge):
        self.fake, self.charge = fake, charge
        self.seen: dict[str, str] = {}
        self.events: list[tuple[dict, bytes]] = []

    def capture(self) -> None:
        for refund in self.fake.refunds_for(self.charge):
            before = self.seen.get(refund["id"])
            if before == refund["status"]:
                continue
            kind = ("refund.created" if before is None
                    else "refund.failed" if refund["status"] == "failed" else "charge.refund.updated")
            self.events.append(self.fake.signed_notification(refund["id"], event_type=kind))
            self.events.append(self.fake.signed_notification(event_type="charge.refunded", charge=self.charge))
            self.seen[refund["id"]] = refund["status"]

    def deliver(self, index: int) -> int:
        headers, body = self.events[index % len(self.events)]
        return Client().post("/webhooks/stripe/", data=body, content_type="application/json",
                             headers={"Stripe-Signature": headers["Stripe-Signature"]}).status_code


def run(step, *, fake, order, outbox, agent, finance) -> None:
    kind = step[0]
    if kind == "request":
        order.refresh_from_db()
        left = order.amount_minor - order.refunded_minor
        if left <= 0 or RefundRequest.objects.filter(order=order, status__in=OPEN).exists():
            return
        req = rs.refund_request_submit(customer=order.customer, order_number=order.external_id, reason="other")
        amount = min(step[1], left)
        rs.refund_request_approve(public_id=req.public_id, user=agent, amount=f"{amount / 100:.2f}", reason="ok",
                                  clause="default")
    elif kind == "work":
        run_tasks(raise_errors=True)
    elif kind == "settle":
        movable = [r for r in fake.refunds_for(order.charge)
                   if r["status"] == "pending" or (r["status"] == "succeeded" and step[2] == "failed")]
        if movable:
            refund = movable[step[1] % len(movable)]
            fake.set_status(refund["id"], step[2], "expired_or_canceled_card" if step[2] == "failed" else None)
    elif kind == "dashboard":
        room = order.charge.amount - order.charge.refunded
        if room > 0:
            made = fake.dashboard_refund(order.charge, min(step[1], room))
            fake.set_status(made["id"], step[2]) if step[2] != "succeeded" else None
    elif kind == "deliver" and outbox.events:
        for _ in range(2 if step[2] else 1):
            assert outbox.deliver(step[1]) == 200
    elif kind == "deliver_failing" and outbox.events:
        with database_refuses_updates("payments_refund"):
            assert outbox.deliver(step[1]) in (200, 503)
    elif kind == "retry":
        for refund in Refund.objects.filter(order=order, status=RefundStatus.FAILED, origin="refunddesk"):
            refund_retry(refund_id=refund.pk, user=finance)
    elif kind == "reconcile":
        refunds_reconcile(older_than=__import__("datetime").timedelta(0))
        charge_reconcile(order_id=order.pk)
    outbox.capture()


def settle_everything(order) -> None:
    """What the worker does over time once the events stop: run what is queued, reconcile, until quiet."""
    for _ in range(4):
        run_tasks(raise_errors=True)
        refunds_reconcile(older_than=__import__("datetime").timedelta(0))
        charge_reconcile(order_id=order.pk)
    run_tasks(raise_errors=True)


@settings(settings.get_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "ci")))
@given(sequence=steps, stripe_makes_them_pending=st.booleans())
def test_the_order_always_agrees_with_what_stripe_holds(sequence, stripe_makes_them_pending, published_policy,
                                                        stripe_gateway, agent, finance):
    fake = stripe_gateway
    fake.refund_status = "pending" if stripe_makes_them_pending else "succeeded"
    DBTaskResult.objects.all().delete()  # what earlier sequences left queued is theirs
    charge = fake.add_charge(PAID, "cny")
    order = OrderFactory(customer=CustomerFactory(), gateway="stripe", payment_method="card",
                         gateway_charge_ref=charge.id, external_id=f"ORD-P{next(_orders)}", amount_minor=PAID)
    order.charge = charge
    outbox = Outbox(fake, charge)

    for step in sequence:
        run(step, fake=fake, order=order, outbox=outbox, agent=agent, finance=finance)
        order.refresh_from_db()
        assert 0 <= order.refunded_minor <= PAID, step  # never above what was paid, at any moment
        assert 0 <= charge.refunded <= PAID

    settle_everything(order)
    order.refresh_from_db()
    assert order.refunded_minor == fake.succeeded_total(charge), sequence
    ours = Refund.objects.filter(order=order)
    succeeded_at_stripe = {r["id"] for r in fake.refunds_for(charge) if r["status"] == "succeeded"}
    assert succeeded_at_stripe == set(ours.filter(status=RefundStatus.SUCCEEDED).values_list("gateway_ref", flat=True))
    to_look_at = set(refunds_needing_attention().values_list("pk", flat=True))
    for refund in ours:
        if refund.status in (RefundStatus.FAILED, RefundStatus.NEEDS_ATTENTION) or refund.disagreement:
            assert refund.pk in to_look_at, (refund.idempotency_key, refund.status)
    assert Order.objects.get(pk=order.pk).refunded_minor <= PAID

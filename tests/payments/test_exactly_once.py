"""Exactly once under concurrency: many approvals or executions of the same request make one refund
call at the (fake, HTTP) gateway and one Refund row; partial refunds never exceed what was paid."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from refunddesk.billing.models import Order
from refunddesk.core.errors import ApplicationError
from refunddesk.core.money import Money
from refunddesk.payments import registry
from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.payments.services import refund_execute_once, refund_reserve
from refunddesk.refunds import services as rs
from tests.factories import OrderFactory
from tests.payments.conftest import serving
from tests.payments.fakes.stripe_fake import API_KEY, WEBHOOK_SECRET, StripeFake

N = 50


def in_threads(n: int, target) -> list[str]:
    barrier = threading.Barrier(n)
    results: list[str] = []

    def run(i):
        try:
            barrier.wait(timeout=30)
            results.append(target(i))
        except ApplicationError as exc:
            results.append(type(exc).__name__)
        except Exception as exc:  # anything else is a bug
            results.append(f"error {type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.fixture
def stripe_live(settings):
    with serving(StripeFake()) as fake:
        settings.REFUNDDESK_GATEWAYS = {
            **settings.REFUNDDESK_GATEWAYS,
            "stripe": {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET, "api_base": fake.url, "timeout": 5},
        }
        registry.reset()
        yield fake
    registry.reset()


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_approvals_and_executions_make_one_refund(published_policy, customer, agent, stripe_live):
    charge = stripe_live.add_charge(3000, "cny")
    order = OrderFactory(customer=customer, gateway="stripe", payment_method="card", gateway_charge_ref=charge.id)
    req = rs.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")

    approvals = in_threads(N, lambda i: rs.refund_request_approve(
        public_id=req.public_id, user=agent, amount="30.00", reason="ok", clause="default").status)
    assert Counter(approvals)["refunding"] == 1, approvals
    assert all(r in ("refunding", "IllegalTransition") for r in approvals), approvals
    assert Refund.objects.count() == 1

    refund = Refund.objects.get()
    outcomes = in_threads(N, lambda i: refund_execute_once(refund_id=refund.pk).status)
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    posts = [r for r in stripe_live.server.requests if r.method == "POST" and r.path == "/v1/refunds"]
    assert len(posts) == 1 and stripe_live.refund_count == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    order.refresh_from_db()
    assert order.refunded_minor == 3000


@pytest.mark.django_db(transaction=True)
@hsettings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(amounts=st.lists(st.integers(min_value=1, max_value=4000), min_size=2, max_size=8))
def test_concurrent_partial_refunds_never_exceed_what_was_paid(customer, amounts):
    """Several partial refunds race for the same order (reserve, then create): the total stays within the price."""
    order = OrderFactory(customer=customer, amount_minor=5000)

    def partial(i):
        from django.db import transaction

        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            refund_reserve(order=locked, amount=Money(amounts[i], "CNY"))
            refund = Refund.objects.create(order=locked, amount_minor=amounts[i], currency="CNY", gateway="sandbox",
                                           charge_ref=locked.gateway_charge_ref, idempotency_key=f"p-{order.pk}-{i}")
        return refund_execute_once(refund_id=refund.pk).status

    results = in_threads(len(amounts), partial)
    assert not [r for r in results if r.startswith("error")], results
    order.refresh_from_db()
    succeeded = sum(Refund.objects.filter(order=order, status=RefundStatus.SUCCEEDED)
                    .values_list("amount_minor", flat=True))
    assert succeeded == order.refunded_minor <= order.amount_minor
    # whatever was refused was refused because it would have gone over
    assert Counter(results)["Conflict"] == len(amounts) - Refund.objects.filter(order=order).count()

"""Submissions and staff actions lock only the rows their check needs (issue 18): on PostgreSQL, a
submission holding its order's lock does not make another submission on the same plan, or by the same
customer, wait for the plan's or the customer's row.

Each test holds one transaction open on one connection (a submission, an action on a request) and runs the
other on a second connection with a short `lock_timeout`: a wait on a row the first one locked ends in an
error instead of a hang."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from refunddesk.billing.models import Order
from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from tests.factories import CustomerFactory, OrderFactory, UsageFactory, UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only (SQLite locks the file)"),
]


def _hold(work, release: threading.Event, held: threading.Event, errors: list[str]) -> threading.Thread:
    """Run `work()` in a transaction on its own connection and keep it open until `release` is set."""

    def run():
        try:
            with transaction.atomic():
                work()
                held.set()
                release.wait(timeout=30)
        except Exception as exc:  # reported to the test
            errors.append(f"{type(exc).__name__}: {exc}")
            held.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _while_held(holder, other) -> None:
    release, held, errors = threading.Event(), threading.Event(), []
    thread = _hold(holder, release, held, errors)
    try:
        assert held.wait(timeout=30)
        assert not errors, errors
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL lock_timeout = '3s'")
            other()
    finally:
        release.set()
        thread.join(timeout=30)
    assert not errors, errors


def _second_order(order: Order, external_id: str) -> Order:
    o = OrderFactory(customer=order.customer, plan=order.plan, external_id=external_id)
    UsageFactory(order=o)
    return o


@pytest.mark.parametrize("same_customer", [True, False], ids=["same-customer", "other-customer"])
def test_a_submission_does_not_wait_for_another_on_the_same_plan(published_policy, customer, order, same_customer):
    second = customer if same_customer else CustomerFactory(user=UserFactory(username="cust_b"), language="en")
    other = OrderFactory(customer=second, plan=order.plan, external_id="ORD-101")
    UsageFactory(order=other)

    _while_held(
        lambda: s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue"),
        lambda: s.refund_request_submit(customer=second, order_number=other.external_id, reason="technical_issue"),
    )
    assert RefundRequest.objects.filter(order__in=[order, other]).count() == 2


def test_a_withdrawal_does_not_wait_for_a_submission_on_the_customers_other_order(published_policy, customer,
                                                                                 order, agent):
    other = _second_order(order, "ORD-102")
    first = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="not_satisfied",
                                    description="please")
    assert first.status == "in_review", first.status

    _while_held(
        lambda: s.refund_request_submit(customer=customer, order_number=other.external_id, reason="technical_issue"),
        lambda: s.refund_request_withdraw(customer=customer, public_id=first.public_id),
    )
    first.refresh_from_db()
    assert first.status == "withdrawn"


def test_an_agent_does_not_wait_for_a_submission_by_the_same_customer(published_policy, customer, order, agent):
    other = _second_order(order, "ORD-103")
    first = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="not_satisfied")

    _while_held(
        lambda: s.refund_request_submit(customer=customer, order_number=other.external_id, reason="technical_issue"),
        lambda: s.refund_request_ask_info(public_id=first.public_id, user=agent, message="Which device?"),
    )
    first.refresh_from_db()
    assert first.status == "waiting_for_customer"

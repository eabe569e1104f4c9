"""The charge facts describe the purchase as it was (issue 13 items 6 and 7; docs/architecture.md, money rule 4).

charge.erroneous compares the amount with what was due for THIS order when it was bought (its price_due,
else the plan's price in force then, in its currency), never today's list price. charge.duplicate needs an
earlier charge that still stands: one refunded in full, or with refunds in flight for all of it, is no
longer repeated by a second purchase. Shown on the facts and end to end with the shipped VPN policy.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from refunddesk.billing.models import Order
from refunddesk.refunds import services as s
from refunddesk.refunds.facts import ORDER_FIELDS, Row, facts_for_order, facts_for_orders
from refunddesk.refunds.states import Status
from tests.factories import CustomerFactory, OrderFactory, PlanFactory, UsageFactory, UserFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
D = dt.timedelta(days=1)
H = dt.timedelta(hours=1)
VPN = Path(__file__).resolve().parents[2] / "policies" / "subscription-vpn.yaml"


@pytest.fixture
def vpn_policy(db):
    """The shipped VPN policy, in force for every order of these tests."""
    from refunddesk.policies.services import policy_publish

    return policy_publish(document=VPN.read_text(encoding="utf-8"),
                          cases=VPN.with_name("subscription-vpn.cases.yaml").read_text(encoding="utf-8"),
                          effective_at=timezone.now() - 800 * D)


def put(client, url: str, body: dict):
    response = client.put(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def plan_body(price: str = "30.00", **extra) -> dict:
    return {"name": "Monthly", "period_days": 30, "refund_window_days": 7, "trial_hours": 24, "price": price,
            "currency": "CNY", **extra}


def order_body(purchased_at: dt.datetime, amount: str = "30.00", **extra) -> dict:
    return {"customer_id": "cus_1", "plan_id": "monthly", "amount": amount, "currency": "CNY",
            "purchased_at": purchased_at.isoformat(), "sales_channel": "web", "payment_method": "alipay",
            "gateway": "sandbox", "gateway_charge_ref": f"ch_{purchased_at:%j%H%M%S}", **extra}


@pytest.fixture
def billing(api):
    """A customer with a user (so that they can apply) and the API client of the merchant's billing."""
    put(api, "/api/v1/customers/cus_1", {"email": "li@example.test", "region": "cn-east", "language": "en"})
    from refunddesk.billing.models import Customer

    Customer.objects.filter(external_id="cus_1").update(user=UserFactory(username="li"))
    return api


def facts(order_number: str, reason: str = "wrong_charge") -> dict:
    return facts_for_order(order=Order.objects.get(external_id=order_number), reason=reason, now=timezone.now())


def apply(order_number: str, reason: str, now: dt.datetime | None = None):
    order = Order.objects.select_related("customer").get(external_id=order_number)
    return s.refund_request_submit(customer=order.customer, order_number=order_number, reason=reason, now=now)


# --- item 6: a catalogue change does not make past orders wrong charges ----------------------------------------


def test_raising_the_list_price_does_not_refund_every_earlier_buyer(vpn_policy, billing):
    """Issue 13 item 6, as filed: 30.00 -> 35.00 today; an order of 20 days ago at 30.00 was right."""
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body("30.00", price_effective_from=(now - 90 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-1", order_body(now - 20 * D))
    put(billing, "/api/v1/plans/monthly", plan_body("35.00"))  # today
    assert facts("ORD-1")["charge"] == {"duplicate": False, "erroneous": False}
    req = apply("ORD-1", "wrong_charge")
    assert req.policy_clause == "refund-window-passed" and req.status == Status.REJECTED
    assert req.approved_amount_minor is None


def test_lowering_the_list_price_does_not_either(vpn_policy, billing):
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body("35.00", price_effective_from=(now - 90 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-1", order_body(now - 20 * D, "35.00"))
    put(billing, "/api/v1/plans/monthly", plan_body("30.00"))
    req = apply("ORD-1", "changed_mind")
    assert req.facts["charge"]["erroneous"] is False and req.status == Status.REJECTED


@pytest.mark.parametrize("amount, why", [("24.00", "a discount not flagged promotional"),
                                         ("25.50", "the price of the customer's region")])
def test_the_price_due_sent_by_billing_decides(vpn_policy, billing, amount, why):
    """What the merchant's billing says was due for the order, not the plan's list price."""
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body("30.00", price_effective_from=(now - 90 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-1", order_body(now - 20 * D, amount, price_due=amount))
    req = apply("ORD-1", "wrong_charge")
    assert req.facts["charge"]["erroneous"] is False, why
    assert req.status == Status.REJECTED and req.policy_clause == "refund-window-passed"


def test_a_real_overcharge_is_still_found_after_the_list_price_caught_up(vpn_policy, billing):
    """Paid 35.00 when the plan cost 30.00; the plan costs 35.00 today: still a wrong charge."""
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body("30.00", price_effective_from=(now - 90 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-1", order_body(now - 20 * D, "35.00"))
    put(billing, "/api/v1/plans/monthly", plan_body("35.00"))
    req = apply("ORD-1", "wrong_charge")
    assert req.facts["charge"]["erroneous"] is True
    assert req.policy_clause == "duplicate-or-wrong-charge" and req.approved_amount_minor == 3500


def test_a_price_due_differing_from_the_amount_is_a_wrong_charge(billing):
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body("30.00", price_effective_from=(now - 90 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-1", order_body(now - 2 * D, "30.00", price_due="24.00"))
    put(billing, "/api/v1/orders/ORD-2", order_body(now - 1 * D, "24.00", price_due="24.00", promotional=True))
    put(billing, "/api/v1/orders/ORD-3", order_body(now - 3 * H, "30.00", price_due="20.00", promotional=True))
    assert facts("ORD-1")["charge"]["erroneous"] is True  # the list price matched, what was due did not
    assert facts("ORD-2")["charge"]["erroneous"] is False
    assert facts("ORD-3")["charge"]["erroneous"] is True  # promotional, but a price due was said


def test_erroneous_uses_the_price_in_force_in_the_orders_currency(billing):
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body(
        "30.00", prices=[{"price": "5.00", "currency": "USD"}], price_effective_from=(now - 90 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-USD-OK", order_body(now - 2 * D, "5.00", currency="USD"))
    put(billing, "/api/v1/orders/ORD-USD-WRONG", order_body(now - 1 * D, "6.00", currency="USD"))
    put(billing, "/api/v1/orders/ORD-EUR", order_body(now - 1 * D, "9.00", currency="EUR"))  # no EUR price
    assert facts("ORD-USD-OK")["charge"]["erroneous"] is False
    assert facts("ORD-USD-WRONG")["charge"]["erroneous"] is True
    assert facts("ORD-EUR")["charge"]["erroneous"] is False  # unknown price due: not a wrong charge


def test_no_known_price_at_purchase_is_not_a_wrong_charge(billing):
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body("30.00", price_effective_from=(now - 5 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-EARLY", order_body(now - 10 * D, "27.00"))  # before any known price
    put(billing, "/api/v1/orders/ORD-LATE", order_body(now - 1 * D, "27.00"))
    put(billing, "/api/v1/plans/monthly", {**plan_body(), "price": None, "currency": None})  # price withdrawn
    put(billing, "/api/v1/orders/ORD-AFTER", order_body(now - 1 * H, "27.00"))
    assert facts("ORD-EARLY")["charge"]["erroneous"] is False
    assert facts("ORD-LATE")["charge"]["erroneous"] is True
    assert facts("ORD-AFTER")["charge"]["erroneous"] is False


# --- item 7: a charge refunded in full is repeated by nothing ------------------------------------------------


def test_buying_again_after_a_full_refund_in_the_trial_is_no_duplicate(vpn_policy, billing):
    """Issue 13 item 7, as filed, with the VPN policy: bought, refunded in full inside the trial, bought again
    an hour later. The second order is not approved as a duplicate charge; a person checks the claim."""
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body(price_effective_from=(now - 90 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-1", order_body(now - 3 * H))
    first = apply("ORD-1", "changed_mind", now=now - 2 * H)
    assert first.policy_clause == "new-user-trial" and first.approved_amount_minor == 3000
    run_tasks()
    first.refresh_from_db()
    assert first.status == Status.REFUNDED
    put(billing, "/api/v1/orders/ORD-2", order_body(now - 1 * H))
    second = apply("ORD-2", "duplicate_charge")
    assert second.facts["charge"]["duplicate"] is False
    assert second.policy_clause == "charge-claim-unverified" and second.status == Status.IN_REVIEW
    assert second.approved_amount_minor is None


def test_a_refund_in_flight_for_all_of_the_first_charge_counts_too(vpn_policy, billing):
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body(price_effective_from=(now - 90 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-1", order_body(now - 3 * H))
    first = apply("ORD-1", "changed_mind", now=now - 2 * H)
    assert first.status == Status.REFUNDING  # the Refund is pending: not paid yet, but all of it is held
    put(billing, "/api/v1/orders/ORD-2", order_body(now - 1 * H))
    assert facts("ORD-2", "duplicate_charge")["charge"]["duplicate"] is False
    second = apply("ORD-2", "other")
    assert second.status == Status.IN_REVIEW and second.policy_clause == "default"


def test_with_the_test_policy_too(published_policy, billing):
    """tests/refunds/policy.yaml approves every charge.duplicate: the second purchase is not one."""
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body(price_effective_from=(now - 90 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-1", order_body(now - 3 * H))
    assert apply("ORD-1", "duplicate_charge", now=now - 2 * H).status == Status.REFUNDING
    put(billing, "/api/v1/orders/ORD-2", order_body(now - 1 * H))
    second = apply("ORD-2", "other")
    assert second.status == Status.IN_REVIEW and second.policy_clause == "default"


def test_a_partly_refunded_first_charge_still_stands(vpn_policy, billing, agent):
    """10.00 of 30.00 refunded on the first charge: the second one still repeats it."""
    now = timezone.now()
    put(billing, "/api/v1/plans/monthly", plan_body(price_effective_from=(now - 90 * D).isoformat()))
    put(billing, "/api/v1/orders/ORD-1", order_body(now - 50 * H))
    put(billing, "/api/v1/orders/ORD-2", order_body(now - 49 * H))
    first = apply("ORD-1", "not_satisfied", now=now - 2 * H)
    assert first.status == Status.IN_REVIEW
    s.refund_request_approve(public_id=first.public_id, user=agent, amount="10.00", reason="Partial",
                             clause="not-satisfied")
    run_tasks()
    assert Order.objects.get(external_id="ORD-1").refunded_minor == 1000
    second = apply("ORD-2", "duplicate_charge")
    assert second.facts["charge"]["duplicate"] is True
    assert second.policy_clause == "duplicate-or-wrong-charge" and second.approved_amount_minor == 3000


def test_a_failed_refund_holds_nothing(published_policy):
    """A refund that failed returned no money: the first charge still stands."""
    from refunddesk.payments.models import Refund

    now = timezone.now()
    customer = CustomerFactory()
    plan = PlanFactory()
    first = OrderFactory(customer=customer, plan=plan, purchased_at=now - 3 * H)
    second = OrderFactory(customer=customer, plan=plan, purchased_at=now - 1 * H)
    req = s.refund_request_submit(customer=customer, order_number=first.external_id, reason="duplicate_charge")
    refund = Refund.objects.get(order=first)
    assert facts_for_order(order=second, reason="other", now=now)["charge"]["duplicate"] is False
    Refund.objects.filter(pk=refund.pk).update(status="failed")  # as the gateway's final answer leaves it
    assert facts_for_order(order=second, reason="other", now=now)["charge"]["duplicate"] is True
    assert req.status == Status.REFUNDING


@pytest.mark.parametrize("change, duplicate", [
    ({}, True),                                              # same plan, currency and amount within 24 hours
    ({"plan": "other"}, False),                              # another plan: another purchase
    ({"currency": "USD", "amount_minor": 3000}, False),      # another currency: not comparable
    ({"amount_minor": 3300}, False),                         # another amount
    ({"purchased_at": -25 * H}, False),                      # more than 24 hours apart
    ({"customer": "other"}, False),                          # someone else's charge
    ({"refunded_minor": 1000}, True),                        # refunded in part: still stands
    ({"refunded_minor": 3000}, False),                       # refunded in full
])
def test_what_a_duplicate_is(change, duplicate):
    """The definition (refunds/facts.py docstring): a charge repeats an earlier one that still stands, of the
    same customer, plan, currency and amount, at most 24 hours before it."""
    now = timezone.now()
    customer, plan = CustomerFactory(), PlanFactory()
    earlier = {"customer": customer, "plan": plan, "purchased_at": now - 2 * H, "amount_minor": 3000,
               "currency": "CNY"}
    for key, value in change.items():
        if key == "plan":
            earlier["plan"] = PlanFactory()
        elif key == "customer":
            earlier["customer"] = CustomerFactory()
        elif key == "purchased_at":
            earlier["purchased_at"] = now - 1 * H + value
        else:
            earlier[key] = value
    OrderFactory(**earlier)
    later = OrderFactory(customer=customer, plan=plan, purchased_at=now - 1 * H)
    assert facts_for_order(order=later, reason="other", now=now)["charge"]["duplicate"] is duplicate


def test_erroneous_is_never_also_a_duplicate():
    now = timezone.now()
    customer, plan = CustomerFactory(), PlanFactory()
    OrderFactory(customer=customer, plan=plan, purchased_at=now - 2 * H, amount_minor=3300)
    later = OrderFactory(customer=customer, plan=plan, purchased_at=now - 1 * H, amount_minor=3300)
    assert facts_for_order(order=later, reason="other", now=now)["charge"] == {"duplicate": True,
                                                                               "erroneous": False}


# --- still seven queries for any number of orders --------------------------------------------------------------


def _rows(orders) -> list[Row]:
    return [Row(*v) for v in Order.objects.filter(pk__in=[o.pk for o in orders]).order_by("id")
            .values_list(*ORDER_FIELDS)]


@pytest.mark.parametrize("n", [1, 30])
def test_seven_queries_for_any_number_of_orders(published_policy, n):
    now = timezone.now()
    plans = [PlanFactory(price_history=[(now - 90 * D, 3000, "CNY"), (now - 10 * D, 3500, "CNY"),
                                        (now - 90 * D, 500, "USD")]) for _ in range(3)]
    orders = []
    for i in range(n):
        customer = CustomerFactory()
        o = OrderFactory(customer=customer, plan=plans[i % 3], purchased_at=now - 20 * D)
        OrderFactory(customer=customer, plan=plans[i % 3], purchased_at=now - 20 * D - H)
        UsageFactory(order=o)
        orders.append(o)
    s.refund_request_submit(customer=orders[0].customer, order_number=orders[0].external_id,
                            reason="duplicate_charge")  # a refund in flight
    rows = _rows(orders)
    with CaptureQueriesContext(connection) as queries:
        got = facts_for_orders(rows, reason="other", now=now)
    assert len(queries.captured_queries) == 7, [q["sql"] for q in queries.captured_queries]
    assert len(got) == n
    for order in orders:
        order.refresh_from_db()
        assert got[order.pk] == facts_for_order(order=order, reason="other", now=now)


def test_the_statuses_that_hold_money_are_the_payments_own():
    """refunds.facts names them (refunds does not import payments); they must stay the same list."""
    from refunddesk.payments.models import RESERVING
    from refunddesk.refunds.facts import RESERVING as FACTS_RESERVING

    assert set(FACTS_RESERVING) == {str(status) for status in RESERVING}

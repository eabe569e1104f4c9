"""Outage facts from the database (outage_fact_for_region), and a real submission decided by them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from refunddesk.refunds import services as refunds
from refunddesk.refunds.facts import facts_for_order
from refunddesk.refunds.states import Status
from refunddesk.status import services
from refunddesk.status.selectors import outage_fact_for_region
from tests.factories import CustomerFactory, OrderFactory, PlanFactory, UsageFactory

pytestmark = pytest.mark.django_db

H = dt.timedelta(hours=1)


def at(now, start_h, end_h=None, *, regions=("cn-east",), severity="outage", fm=False):
    """An incident from `start_h` hours ago to `end_h` hours ago (None: ongoing)."""
    services.incident_open(
        title_en="x", regions=list(regions), severity=severity, started_at=now - start_h * H,
        ended_at=None if end_h is None else now - end_h * H, force_majeure=fm,
        force_majeure_note="Typhoon" if fm else "", now=now)


def fact(now, since_h=500, region="cn-east"):
    return outage_fact_for_region(region=region, since=now - since_h * H, now=now)


def test_overlapping_incidents_merge(regions):
    now = timezone.now()
    at(now, 100, 60)
    at(now, 70, 27)  # overlaps the first: one run of 73 hours
    f = fact(now)
    assert f.longest_hours == pytest.approx(73) and not f.force_majeure


def test_back_to_back_incidents_merge_but_a_gap_splits(regions):
    now = timezone.now()
    at(now, 100, 60)
    at(now, 60, 27)  # starts exactly when the first ends
    assert fact(now).longest_hours == pytest.approx(73)
    at(now, 300, 250)
    at(now, 250 - 1 / 60, 200)  # one minute of gap: two runs of 50h and 50h-1min
    assert fact(now).longest_hours == pytest.approx(73)
    assert fact(now, since_h=299).longest_hours == pytest.approx(73)


def test_an_ongoing_incident_runs_until_now(regions):
    now = timezone.now()
    at(now, 80)
    assert fact(now).longest_hours == pytest.approx(80)
    assert fact(now, since_h=10).longest_hours == pytest.approx(10)  # clipped to the window (since purchase)


def test_degraded_is_not_an_outage_and_does_not_join_two(regions):
    now = timezone.now()
    at(now, 100, 60)
    at(now, 60, 40, severity="degraded")
    at(now, 40, 10)
    f = fact(now)
    assert f.longest_hours == pytest.approx(40)


def test_force_majeure_of_the_longest_run_only(regions):
    now = timezone.now()
    at(now, 200, 190, fm=True)  # a short force-majeure outage
    at(now, 100, 20)  # the long one is ours
    f = fact(now)
    assert f.longest_hours == pytest.approx(80) and not f.force_majeure
    at(now, 20, 10, fm=True)  # back to back with the long one: the run now includes force majeure
    f = fact(now)
    assert f.longest_hours == pytest.approx(90) and f.force_majeure


def test_only_the_customers_region_counts(regions):
    now = timezone.now()
    at(now, 100, 10, regions=("eu-west",))
    at(now, 50, 10, regions=("cn-east", "cn-north"))
    assert fact(now).longest_hours == pytest.approx(40)
    assert fact(now, region="cn-north").longest_hours == pytest.approx(40)
    assert fact(now, region="eu-west").longest_hours == pytest.approx(90)
    assert fact(now, region="nowhere").longest_hours == 0


# --- a real submission, decided by the VPN policy's outage clauses ----------------------------------


@pytest.fixture
def vpn_order(regions, vpn_policy):
    customer = CustomerFactory(region="cn-east", language="en")
    plan = PlanFactory(external_id="vpn-monthly", period_days=30, refund_window_days=7, trial_hours=24)
    OrderFactory(customer=customer, plan=plan, purchased_at=timezone.now() - dt.timedelta(days=40))  # not new
    order = OrderFactory(customer=customer, plan=plan, purchased_at=timezone.now() - dt.timedelta(days=10),
                         amount_minor=3000)
    UsageFactory(order=order, days_used=10)
    return order


def submit(order):
    return refunds.refund_request_submit(customer=order.customer, order_number=order.external_id,
                                         reason="service_outage")


def test_a_73_hour_outage_since_purchase_is_refunded_by_the_outage_clause(vpn_order):
    now = timezone.now()
    at(now, 73 + 24, 24)  # 73 hours, ended a day ago; the order is 10 days old: past the 7-day window
    facts = facts_for_order(order=vpn_order, reason="service_outage", now=now)
    assert facts["outage"] == {"longest_hours": pytest.approx(73), "force_majeure": False}
    req = submit(vpn_order)
    assert req.policy_clause == "major-outage" and req.policy_outcome == "approve"
    assert req.policy_amount_minor == 2000  # 3000 x (30 - 10) / 30: the unused part
    assert req.status == Status.REFUNDING  # approved and handed to refund execution
    assert req.facts["outage"]["longest_hours"] == pytest.approx(73, abs=0.01)


def test_a_force_majeure_outage_is_not(vpn_order):
    now = timezone.now()
    at(now, 73 + 24, 24, fm=True)
    req = submit(vpn_order)
    assert req.policy_clause == "outage-force-majeure" and req.status == Status.REJECTED


def test_an_outage_mostly_before_the_purchase_counts_only_since_the_purchase(vpn_order):
    now = timezone.now()
    purchased_h = (now - vpn_order.purchased_at).total_seconds() / 3600
    at(now, purchased_h + 200, purchased_h - 50)  # 250 hours long, but only 50 of them since the purchase
    req = submit(vpn_order)
    assert req.facts["outage"]["longest_hours"] == pytest.approx(50, abs=0.01)
    # not the outage clause: the order is past its 7-day window, so the window clause refuses it
    assert req.policy_clause == "refund-window-passed" and req.status == Status.REJECTED


def test_71_hours_are_not_enough(vpn_order):
    now = timezone.now()
    at(now, 71 + 24, 24)
    req = submit(vpn_order)
    assert req.policy_clause == "refund-window-passed" and req.status == Status.REJECTED

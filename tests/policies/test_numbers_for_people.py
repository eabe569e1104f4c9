"""Numbers a person reads are formatted for people (issue 14.5): hours of outage rounded, dates on the
merchant's calendar in the reader's language, shares as percentages, in explanations and on the case page."""

from __future__ import annotations

import pytest
from django.test import Client

from refunddesk.policies.engine import evaluate
from refunddesk.policies.facts import display
from tests.policies.helpers import facts

pytestmark = pytest.mark.django_db  # Django's settings give the merchant's time zone (Asia/Shanghai)


def test_an_outage_explanation_says_80_1_hours_not_80_13053137416667(shipped):
    decision = evaluate(shipped["subscription-vpn"], facts(
        request__reason="service_outage", outage__longest_hours=80.13053137416667,
        order__purchased_at="2025-03-09T10:00:00+08:00"))
    assert decision.clause == "major-outage"
    assert "80.1 hours" in decision.explanation.en and "80.13" not in decision.explanation.en
    assert "80.1 小时" in decision.explanation.zh and "80.13" not in decision.explanation.zh


def test_a_date_in_an_explanation_is_the_merchants_day_in_the_readers_language(shipped):
    """20 October 21:56 UTC is already 21 October in Shanghai; no seconds, no 'UTC' for customers."""
    decision = evaluate(shipped["subscription-vpn"], facts(
        request__reason="not_satisfied", order__purchased_at="2026-10-20T21:56:00Z",
        request__submitted_at="2026-11-20T12:00:00+08:00", now="2026-11-20T12:00:00+08:00"))
    assert decision.clause == "refund-window-passed"
    assert "October 21, 2026" in decision.explanation.en and "UTC" not in decision.explanation.en
    assert "2026年10月21日" in decision.explanation.zh and "UTC" not in decision.explanation.zh


@pytest.mark.parametrize("day", ["2026-01-01", "2026-10-21", "2027-02-28", "2025-12-31"])
def test_an_explanation_writes_a_day_as_the_page_beside_it_does(day):
    """One format per page (issue 17): the order card's "Bought on" (core.dates.format_date, Babel's long
    date) and the policy's explanation quoting {order.purchased_at} write the same day the same way."""
    import datetime as dt

    from refunddesk.core.dates import format_date
    from refunddesk.policies.facts import date_text

    stamp = dt.datetime.fromisoformat(day + "T12:00:00+08:00")
    assert date_text(stamp, zh=False) == format_date(stamp, "en")
    assert date_text(stamp, zh=True) == format_date(stamp, "zh-hans")


def test_shares_are_percentages_and_big_numbers_are_grouped():
    assert display("usage.quota_used_ratio", 0.35, "en") == "35%"
    assert display("usage.quota_used_ratio", 1 / 3, "zh-Hans") == "33.3%"
    assert display("outage.longest_hours", 72.0, "en") == "72"
    assert display("outage.longest_hours", 1234.56, "en") == "1,234.6"
    assert display("customer.refunds_last_year", 12000, "en") == "12,000"


def test_the_case_page_shows_the_facts_as_people_read_them(published_policy, customer, agent):
    """Same kind, on a page: the facts table showed 80.13053137416667 and 0.35."""
    from refunddesk.billing.models import UsageRecord
    from refunddesk.refunds import services as rs
    from tests.factories import OrderFactory

    order = OrderFactory(customer=customer)
    UsageRecord.objects.create(order=order, days_used="2.50", quota_used_ratio="0.3500")
    req = rs.refund_request_submit(customer=customer, order_number=order.external_id, reason="other")
    facts_now = dict(req.facts)
    facts_now["outage"] = {**facts_now["outage"], "longest_hours": 80.13053137416667}
    type(req).objects.filter(pk=req.pk).update(facts=facts_now)
    client = Client()
    client.force_login(agent)
    page = client.get(f"/console/requests/{req.public_id}/").content.decode()
    assert "80.1" in page and "80.13053137416667" not in page
    assert "35%" in page and ">0.35<" not in page

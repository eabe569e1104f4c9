"""How many SQL statements the routes users wait on run (issue 18): a submission, a customer's list of
requests, a decision through the policy API and one payout through the sandbox. The counts are held per
database (PostgreSQL and SQLite differ in savepoints); a change that adds statements to these paths must
change the numbers here on purpose."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from refunddesk.core.services import access_token_create
from refunddesk.payments.models import Refund
from refunddesk.payments.services import refund_execute_once
from refunddesk.refunds import services as s
from tests.factories import OrderFactory, UsageFactory

pytestmark = pytest.mark.django_db

#: statements per operation: {vendor: count}. Each notice to the customer is also kept for their site inbox
#: (channels, issue 19): the request's thread (read, and created with the first notice), the channel the
#: customer last wrote on, and the message itself: +4 on a submission, +3 on a payout.
SUBMISSION = {"postgresql": 27, "sqlite": 27}
REQUEST_LIST = {"postgresql": 3, "sqlite": 3}
EVALUATE = {"postgresql": 0, "sqlite": 0}
PAYOUT = {"postgresql": 25, "sqlite": 25}


def _client(user) -> Client:
    _, raw = access_token_create(user=user)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def _count(func) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        func()
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def test_a_submission_through_the_api(published_policy, customer, order):
    client = _client(customer.user)
    client.get("/api/v1/policy")  # the token's first use stamps it, and the process reads the policy once
    n, sql = _count(lambda: client.post("/api/v1/requests", {"order_number": order.external_id,
                                                              "reason": "technical_issue"}))
    print("SUBMISSION", n)
    assert n == SUBMISSION[connection.vendor], "\n".join(sql)


def test_a_customers_request_list_reads_one_narrow_query(published_policy, customer, order):
    for i in range(3):
        o = OrderFactory(customer=customer, plan=order.plan, external_id=f"ORD-L{i}")
        UsageFactory(order=o)
        s.refund_request_submit(customer=customer, order_number=o.external_id, reason="technical_issue")
    client = _client(customer.user)
    client.get("/api/v1/requests")
    n, sql = _count(lambda: client.get("/api/v1/requests"))
    print("LIST", n)
    assert n == REQUEST_LIST[connection.vendor], "\n".join(sql)
    listing = next(q for q in sql if '"refunds_refundrequest"."public_id"' in q)
    selected = listing.split(" FROM ")[0]
    assert '"facts"' not in selected and '"policy_trace"' not in selected  # only what the list shows
    assert "billing_plan" not in listing and "billing_customer" not in listing


def test_a_decision_through_the_policy_api(published_policy, api):
    api.get("/api/v1/policy")
    body = {"facts": {"request": {"reason": "changed_mind"}}}
    n, sql = _count(lambda: api.post("/api/v1/policy/evaluate", body, content_type="application/json"))
    print("EVALUATE", n)
    assert n == EVALUATE[connection.vendor], "\n".join(sql)


def test_one_payout_through_the_sandbox(published_policy, customer, agent):
    order = OrderFactory(customer=customer, gateway="sandbox", payment_method="alipay", external_id="ORD-PAY")
    UsageFactory(order=order)
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    s.refund_request_approve(public_id=req.public_id, user=agent, reason="Broken", clause="default")
    refund = Refund.objects.get(request=req)
    n, sql = _count(lambda: refund_execute_once(refund_id=refund.pk))
    print("PAYOUT", n)
    assert Refund.objects.get(pk=refund.pk).status == "succeeded"
    assert n == PAYOUT[connection.vendor], "\n".join(sql)


def test_the_business_calendar_is_read_once_until_a_schedule_is_recorded(db):
    from refunddesk.core.services import holiday_schedule_record
    from refunddesk.refunds import deadlines

    first = deadlines.calendar()
    n, sql = _count(deadlines.calendar)
    assert n == 0 and deadlines.calendar() is first, sql  # no query, the folder not listed again
    year = first.source(2031)  # a year nobody recorded
    holiday_schedule_record(document="country: CN\nyear: 2031\ndays_off: [{name: New Year, from: 2031-01-01}]\n",
                            country="CN")
    again = deadlines.calendar()
    assert again is not first and again.source(2031) != year


def test_a_published_version_is_in_force_at_once_and_a_later_one_when_its_time_comes(published_policy, api):
    import datetime as dt

    from django.utils import timezone

    from refunddesk.policies.services import policy_publish, version_in_force
    from tests.conftest import TEST_POLICY

    assert api.get("/api/v1/policy").json()["version"] == "1"
    text = TEST_POLICY.read_text(encoding="utf-8")
    cases = TEST_POLICY.with_name("policy.cases.yaml").read_text(encoding="utf-8")
    policy_publish(document=text.replace("version: 1", "version: 2"), cases=cases)
    assert api.get("/api/v1/policy").json()["version"] == "2"
    soon = timezone.now() + dt.timedelta(days=3)
    policy_publish(document=text.replace("version: 1", "version: 3"), cases=cases, effective_at=soon)
    assert api.get("/api/v1/policy").json()["version"] == "2"
    assert version_in_force(at=soon + dt.timedelta(seconds=1)).version == "3"


def test_a_revoked_api_key_is_refused_at_once_though_keys_are_kept_per_process(published_policy, api):
    from refunddesk.core.models import ApiKey

    assert api.get("/api/v1/policy").status_code == 200
    n, _sql = _count(lambda: api.get("/api/v1/policy"))
    assert n == 0  # the key is known to this process
    key = ApiKey.objects.get()
    key.active = False
    key.save()  # as the admin revokes it
    assert api.get("/api/v1/policy").status_code == 401

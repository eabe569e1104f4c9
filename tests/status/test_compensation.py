"""Outage compensation: who is affected, what the policy decides, the follow-up, resuming after a stop."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from refunddesk.core.errors import Conflict
from refunddesk.payments.models import Refund
from refunddesk.refunds import services as refunds
from refunddesk.refunds.facts import ORDER_FIELDS, Row, facts_for_order, facts_for_orders
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from refunddesk.status import compensation, services
from refunddesk.status.models import CompensationItem, CompensationRun, RunStatus
from tests.factories import CustomerFactory, OrderFactory, PlanFactory, SupportContactFactory, UsageFactory
from tests.status.conftest import incident
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
D = dt.timedelta(days=1)
H = dt.timedelta(hours=1)


def rows_for(orders) -> list[Row]:
    from refunddesk.billing.models import Order

    ids = [o.pk for o in orders]
    return [Row(*v) for v in Order.objects.filter(pk__in=ids).order_by("id").values_list(*ORDER_FIELDS)]


# --- facts for many orders at once are each order's own facts -------------------------------------------------------


def test_facts_for_many_orders_equal_each_orders_own_facts(regions, vpn_policy):
    now = timezone.now()
    incident(("cn-east",), hours=30, ended_hours_ago=100, now=now)
    incident(("cn-east", "eu-west"), hours=80, ended_hours_ago=5, force_majeure=True, now=now)
    incident(("cn-north",), hours=20, ended_hours_ago=None, now=now)  # ongoing
    incident(("cn-north",), hours=50, ended_hours_ago=30, severity="degraded", now=now)
    monthly = PlanFactory(period_days=30, price_minor=3000, currency="CNY")
    no_price = PlanFactory(period_days=365, price_minor=None, currency="", refundable=False, trial_hours=0)
    yen = PlanFactory(period_days=30, price_minor=1200, currency="JPY")
    orders = []
    for i, region in enumerate(["cn-east", "cn-north", "eu-west", "nowhere"]):
        c = CustomerFactory(region=region, tos_violation=i == 2)
        first = OrderFactory(customer=c, plan=monthly, purchased_at=now - 20 * D)
        dup = OrderFactory(customer=c, plan=monthly, purchased_at=now - 20 * D + 3 * H)  # a duplicate charge
        wrong = OrderFactory(customer=c, plan=monthly, purchased_at=now - 9 * D, amount_minor=3300)  # erroneous
        promo = OrderFactory(customer=c, plan=monthly, purchased_at=now - 8 * D, amount_minor=1500, promotional=True,
                             refundable=False)
        other = OrderFactory(customer=c, plan=no_price, purchased_at=now - 5 * D, amount_minor=29800,
                             refunded_minor=1000, channel_fee_minor=0)
        jpy = OrderFactory(customer=c, plan=yen, purchased_at=now - 2 * D, currency="JPY", amount_minor=1200,
                           payment_method="card")
        UsageFactory(order=first, days_used=Decimal("12.50"), paid_features_used=True,
                     quota_used_ratio=Decimal("0.3333"))
        UsageFactory(order=jpy, days_used=0)
        SupportContactFactory(customer=c, order=None, opened_at=now - 10 * D, resolved=i % 2 == 0)
        SupportContactFactory(customer=c, order=other, opened_at=now - 30 * D, resolved=True)
        if i == 1:
            SupportContactFactory(customer=c, order=None, opened_at=now - 4 * D, resolved=False)
        orders += [first, dup, wrong, promo, other, jpy]
    # granted refunds in the last year count; older or not granted ones do not
    c0 = orders[0].customer
    for n, (status, ago) in enumerate([("refunded", 30), ("approved", 2), ("rejected", 3), ("refunded", 400)]):
        RefundRequest.objects.create(customer=c0, order=orders[n + 1], reason="other", currency="CNY",
                                     status=status, decided_at=now - ago * D)
    got = facts_for_orders(rows_for(orders), reason="service_outage", now=now)
    for order in orders:
        order.refresh_from_db()
        assert got[order.pk] == facts_for_order(order=order, reason="service_outage", now=now), order.external_id
    # the data covers what it should
    values = list(got.values())
    assert {v["customer"]["new"] for v in values} == {True, False}
    assert {v["charge"]["duplicate"] for v in values} == {True, False}
    assert {v["charge"]["erroneous"] for v in values} == {True, False}
    assert {v["support"]["resolved"] for v in values} == {True, False}
    assert {v["outage"]["force_majeure"] for v in values} == {True, False}
    assert {v["customer"]["refunds_last_year"] for v in values} == {0, 2}
    assert len({v["outage"]["longest_hours"] for v in values}) >= 3


# --- a run ---------------------------------------------------------------------------------------------


@pytest.fixture
def outage(regions, vpn_policy):
    """A 73-hour outage in cn-east and cn-north that ended a day ago, and the orders around it."""
    now = timezone.now()
    inc = incident(("cn-east", "cn-north"), hours=73, ended_hours_ago=24, now=now)
    start, end = inc.started_at, inc.ended_at
    plan = PlanFactory(external_id="vpn-monthly", period_days=30, refund_window_days=7)
    yearly = PlanFactory(external_id="vpn-yearly", period_days=365, refund_window_days=30, price_minor=29800)

    def order(region="cn-east", purchased=None, **kw):
        customer = CustomerFactory(region=region, tos_violation=kw.pop("tos", False),
                                   language=kw.pop("language", "en"))
        o = OrderFactory(customer=customer, plan=kw.pop("plan", plan),
                         purchased_at=purchased or start - 5 * D, **kw)
        UsageFactory(order=o, days_used=5)
        return o

    affected = {
        "approve": [order(), order(region="cn-north", language="zh-hans"), order(payment_method="card"),
                    order(plan=yearly, purchased=start - 200 * D, amount_minor=29800),
                    order(purchased=start + 10 * H)],  # bought during it: 63h since purchase -> refused
        "review": [order(refundable=False)],  # "no refunds" but not promotional: a person decides
        "reject": [order(tos=True), order(promotional=True, refundable=False)],
    }
    refused_late = affected["approve"].pop()  # 63 hours since purchase: the policy refuses it
    affected["reject"].append(refused_late)
    not_affected = [
        order(region="eu-west"),
        order(sales_channel="app_store", gateway="app_store"),
        order(purchased=start - 31 * D),  # the monthly period was over before the outage
        order(purchased=end + H),  # bought after it
        order(refunded_minor=3000),  # refunded in full already
    ]
    # already asked: an open request, and an outage request the customer made since the outage began
    open_req = order()
    RefundRequest.objects.create(customer=open_req.customer, order=open_req, reason="not_satisfied",
                                 currency="CNY", status=Status.IN_REVIEW)
    asked = order()
    RefundRequest.objects.create(customer=asked.customer, order=asked, reason="service_outage", currency="CNY",
                                 status=Status.REJECTED_FINAL, submitted_at=start + 30 * H)
    return {"incident": inc, "affected": affected, "not_affected": not_affected, "skipped": [open_req, asked]}


def compensate(incident_id, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("outage", "compensate", str(incident_id), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_creates_what_the_policy_decides_and_the_worker_applies_it(outage):
    inc, affected = outage["incident"], outage["affected"]
    out, err = compensate(inc.pk, "--batch-size", "3")
    assert "/" in err and "%" in err and "/s" in err  # progress on stderr: "6/10 (60%) 210/s"
    assert err.strip().splitlines()[-1].startswith("10/10 (100%)")
    run = CompensationRun.objects.get(incident=inc)
    assert run.status == RunStatus.DONE and run.total == run.processed == 10
    assert (run.created, run.approved, run.review, run.rejected, run.skipped) == (5, 4, 1, 3, 2)
    assert "5 requests created (4 approved, 1 to review)" in out

    created = {r.order_id: r for r in RefundRequest.objects.filter(reason="service_outage", status="submitted")}
    assert set(created) == {o.pk for o in affected["approve"] + affected["review"]}
    for req in created.values():
        assert req.timeline.get().action == "submit"
        # stored whole, as a submission stores it (on PostgreSQL these rows were written with COPY)
        assert req.facts["order"]["id"] == req.order.external_id and req.facts["_refund_business_days"] == 5
        assert req.policy_explanation["en"] and req.policy_explanation["zh"] and req.policy_trace
        assert req.policy_version.policy_id == "subscription-vpn"
        assert (req.override, req.redirect_instructions, req.assignee_id, req.review_due_at) == (False, {}, None, None)
        assert req.updated_at is not None and req.customer_id == req.order.customer_id
        assert CompensationItem.objects.get(request=req).incident_id == inc.pk
    zh = created[affected["approve"][1].pk]
    assert zh.language == "zh-hans" and str(inc.pk) in zh.description

    run_tasks()  # the worker: the refunds app applies each decision, emails, hands refunds over
    run.refresh_from_db()
    assert run.applied == 5
    by_order = {r.order_id: r for r in RefundRequest.objects.filter(pk__in=[r.pk for r in created.values()])}
    for o in affected["approve"]:
        req = by_order[o.pk]
        assert req.policy_clause == "major-outage"
        assert req.status in (Status.REFUNDING, Status.REFUNDED)
        assert Refund.objects.filter(request=req).count() == 1
    assert by_order[affected["review"][0].pk].status == Status.IN_REVIEW
    decided = {m.to[0]: m.subject for m in mail.outbox if "approved" in m.subject or "received" in m.subject
               or "已" in m.subject or "收到" in m.subject}
    for req in by_order.values():  # every customer got the normal email of their request, in their language
        assert req.public_id in decided[req.customer.email]
    assert "approved" in decided[affected["approve"][0].customer.email]
    assert "received" in decided[affected["review"][0].customer.email]

    # run again: nothing new, never a second request
    compensate(inc.pk)
    assert RefundRequest.objects.filter(reason="service_outage").count() == 5 + 1  # + the one the customer made
    assert CompensationRun.objects.filter(incident=inc).count() == 2


def test_stopped_half_way_and_run_again_it_continues_where_it_stopped(outage):
    inc = outage["incident"]
    with pytest.raises(CommandError, match="Run the command again to continue"):
        compensate(inc.pk, "--batch-size", "2", "--stop-after", "5")
    run = CompensationRun.objects.get(incident=inc)
    assert run.status == RunStatus.FAILED and run.processed == 6 and "stop-after" in run.error
    first_part = set(CompensationItem.objects.values_list("order_id", flat=True))
    assert first_part and max(first_part) <= run.last_order_id

    out, err = compensate(inc.pk, "--batch-size", "2")
    assert f"continuing run {run.pk} after 6 orders" in err
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.attempts == 2 and run.processed == 10
    orders = list(CompensationItem.objects.values_list("order_id", flat=True))
    assert len(orders) == len(set(orders)) == 10 and first_part <= set(orders)  # each order looked at once
    with_request = list(CompensationItem.objects.filter(request__isnull=False).values_list("order_id", flat=True))
    assert len(with_request) == len(set(with_request)) == 5  # one request per order the policy grants or reviews
    assert RefundRequest.objects.filter(reason="service_outage", status="submitted").count() == 5
    reasons = dict(CompensationItem.objects.filter(request__isnull=True).values_list("order_id", "clause"))
    assert reasons[outage["skipped"][0].pk] == "open_request" and reasons[outage["skipped"][1].pk] == "asked"
    assert reasons[outage["affected"]["reject"][0].pk] == "terms-violation"


@pytest.fixture
def english():
    with translation.override("en"):
        yield


def test_runs_are_refused_below_the_threshold_or_for_force_majeure(regions, vpn_policy, english):
    short = incident(regions=("cn-north",), hours=20, ended_hours_ago=1)
    with pytest.raises(Conflict, match="20.0 hours"):
        services.compensation_start(incident_id=short.pk)
    fm = incident(hours=100, ended_hours_ago=1, force_majeure=True)
    with pytest.raises(Conflict, match="force majeure"):
        services.compensation_start(incident_id=fm.pk)
    degraded = incident(regions=("eu-west",), hours=100, ended_hours_ago=1, severity="degraded")
    with pytest.raises(Conflict, match="degraded"):
        services.compensation_start(incident_id=degraded.pk)
    with pytest.raises(CommandError, match="20.0 hours"):
        compensate(short.pk)
    run, started = services.compensation_start(incident_id=short.pk, force=True)
    assert started and run.status == RunStatus.QUEUED
    assert compensation.eligibility(incident(regions=("eu-west",), hours=73, ended_hours_ago=1)).eligible
    assert compensation.outage_threshold_hours(vpn_policy) == 72.0


def test_the_console_button_enqueues_the_run_and_a_second_click_does_not_start_another(outage):
    inc = outage["incident"]
    run, started = services.compensation_start(incident_id=inc.pk)
    again, started_again = services.compensation_start(incident_id=inc.pk)
    assert started and not started_again and again.pk == run.pk
    run_tasks()
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.created == 5 and run.applied == 5


def test_a_request_the_refund_cannot_be_handed_over_for_goes_to_a_person(outage):
    inc = outage["incident"]
    compensate(inc.pk)
    req = RefundRequest.objects.filter(status="submitted", policy_outcome="approve").first()
    refunds_before = Refund.objects.count()
    # meanwhile the order was refunded in full elsewhere
    type(req.order).objects.filter(pk=req.order_id).update(refunded_minor=req.order.amount_minor)
    compensation.apply_decisions(run_id=None, request_ids=[req.pk])
    req.refresh_from_db()
    assert req.status == Status.IN_REVIEW and Refund.objects.count() == refunds_before
    assert req.timeline.last().data["not_applied"]
    assert compensation.apply_decisions(run_id=None, request_ids=[req.pk]) == 0  # idempotent


def test_a_customer_cannot_open_a_second_request_on_a_compensated_order(outage):
    inc = outage["incident"]
    compensate(inc.pk)
    order = outage["affected"]["approve"][0]
    with pytest.raises(Conflict):
        refunds.refund_request_submit(customer=order.customer, order_number=order.external_id,
                                      reason="service_outage")


def test_queries_per_batch_do_not_grow_with_the_batch(outage):
    """One batch of 10 orders and one of 40 take the same number of queries."""
    now = timezone.now()
    big = incident(("eu-west",), hours=80, ended_hours_ago=24, now=now)
    plan = PlanFactory(period_days=30, refund_window_days=7)
    for _ in range(39):
        o = OrderFactory(customer=CustomerFactory(region="eu-west"), plan=plan, purchased_at=big.started_at - 3 * D)
        UsageFactory(order=o)
    counts = []
    for inc in (outage["incident"], big):
        run, _ = services.compensation_start(incident_id=inc.pk, enqueue=False)
        with CaptureQueriesContext(connection) as queries:
            run = compensation.compensation_execute(run_id=run.pk, batch_size=100)
        counts.append(len(queries.captured_queries))
    assert run.processed == 40 and run.created == 40
    assert counts[1] <= counts[0] + 2, counts


def test_a_run_whose_process_died_is_queued_again_and_continues(outage):
    inc = outage["incident"]
    with pytest.raises(CommandError):
        compensate(inc.pk, "--batch-size", "2", "--stop-after", "2")
    run = CompensationRun.objects.get(incident=inc)
    # as after a SIGKILL: still "running", no heartbeat for a long time
    CompensationRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING,
                                                    heartbeat_at=timezone.now() - dt.timedelta(minutes=10))
    again, started = services.compensation_start(incident_id=inc.pk)
    assert started and again.pk == run.pk and again.status == RunStatus.QUEUED
    fresh, started = services.compensation_start(incident_id=inc.pk)
    assert not started  # queued a moment ago: not stale, not queued twice
    run_tasks()
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.processed == 10 and run.created == 5


def test_apply_now_and_status_from_the_command_line(outage):
    inc = outage["incident"]
    out, err = compensate(inc.pk, "--apply", "--quiet")
    assert "5 requests applied" in out and "applying 5 decisions" in err and "%" not in err
    assert RefundRequest.objects.filter(status="submitted").count() == 0
    status = io.StringIO()
    call_command("outage", "status", str(inc.pk), stdout=status)
    assert "run " in status.getvalue() and "done: 10/10 (100%)" in status.getvalue()
    assert "5 applied" in status.getvalue()
    with pytest.raises(CommandError, match="no incident"):
        compensate(999999)


def test_a_request_number_that_is_already_taken_is_drawn_again(outage, monkeypatch):
    """Numbers are random: when one repeats an existing request's, the run still creates every request."""
    import secrets

    taken = RefundRequest.objects.exclude(public_id="").first().public_id  # one of the fixture's requests
    draws = iter([taken[3:]] + [f"{n:012X}" for n in range(1, 100)])
    real = secrets.token_hex
    monkeypatch.setattr(secrets, "token_hex", lambda n=None: next(draws).lower() if n == 6 else real(n))
    compensate(outage["incident"].pk)
    made = RefundRequest.objects.filter(reason="service_outage", status="submitted")
    assert made.count() == 5
    numbers = list(RefundRequest.objects.values_list("public_id", flat=True))
    assert len(numbers) == len(set(numbers)) and numbers.count(taken) == 1


def test_the_follow_up_of_a_batch_writes_in_bulk_and_queues_one_email_task(outage):
    """The worker's part for a batch of requests: one transaction, the timeline events and the refund executions
    in one INSERT each, the customers' emails in one task (issue 18: 13.8 statements per request before)."""
    from django_tasks_db.models import DBTaskResult

    inc = outage["incident"]
    compensate(inc.pk)
    ids = list(RefundRequest.objects.filter(status="submitted").values_list("pk", flat=True))
    assert len(ids) == 5
    tasks_before = set(DBTaskResult.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        assert compensation.apply_decisions(run_id=None, request_ids=ids) == 5
    new = DBTaskResult.objects.exclude(pk__in=tasks_before)
    paths = sorted(new.values_list("task_path", flat=True))
    assert paths.count("refunddesk.notify.tasks.send_emails") == 1 and "refunddesk.notify.tasks.send_email" not in paths
    assert paths.count("refunddesk.payments.tasks.refund_execute") == 4
    statements = len(queries.captured_queries)
    # 9 a request: 8 before the site inbox kept each notice (issue 19: thread and message, and the channel used)
    assert statements <= 9 * len(ids), statements
    run_tasks()
    assert {m.to[0] for m in mail.outbox} >= {r.customer.email for r in RefundRequest.objects.filter(pk__in=ids)}
    for req in RefundRequest.objects.filter(pk__in=ids):
        assert [e.action for e in req.timeline.all()][:2] in (["submit", "policy_approve"], ["submit", "policy_review"])

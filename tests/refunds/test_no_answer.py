"""Requests cannot get stuck waiting for the customer (issue 17): the policy's `no_answer` reminds the customer
after N business days, then closes the request or decides as the document says; the timeline and emails say so."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from refunddesk.payments.models import Refund
from refunddesk.policies.errors import PolicyError
from refunddesk.policies.schema import load_policy, load_policy_text
from refunddesk.policies.services import policy_publish
from refunddesk.refunds import deadlines
from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from tests.conftest import EARLIEST, TEST_POLICY
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


def publish_with(waiting="close", offered="close", remind=3, close=7):
    text = TEST_POLICY.read_text(encoding="utf-8").replace(
        "refund_business_days: 5\n",
        f"refund_business_days: 5\nno_answer:\n  remind_after: {remind}\n  close_after: {close}\n"
        f"  waiting_for_customer: {waiting}\n  offered: {offered}\n", 1)
    return policy_publish(document=text, cases=TEST_POLICY.with_name("policy.cases.yaml").read_text(encoding="utf-8"),
                          effective_at=min(timezone.now() - dt.timedelta(days=400), EARLIEST))


def submit(customer, order, now):
    return s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue",
                                   now=now)


def bdays(start, n):
    return deadlines.due_after(start, n)


def reload(req):
    return RefundRequest.objects.get(pk=req.pk)


def test_unanswered_question_is_reminded_then_closed_and_the_order_is_free_again(customer, order, agent):
    publish_with(waiting="close")
    t0 = timezone.now()
    req = submit(customer, order, t0)
    s.refund_request_ask_info(public_id=req.public_id, user=agent, message="Send a screenshot", now=t0)
    req = reload(req)
    assert req.answer_remind_at == bdays(t0, 3) and req.answer_due_at == bdays(t0, 7)
    run_tasks()
    mail.outbox.clear()

    before = req.answer_remind_at - dt.timedelta(minutes=1)
    assert s.no_answer_run(now=before).reminded == []
    at = req.answer_remind_at + dt.timedelta(minutes=1)
    assert s.no_answer_run(now=at).reminded == [req.public_id]
    assert s.no_answer_run(now=at).reminded == []  # once
    req = reload(req)
    assert req.status == Status.WAITING_FOR_CUSTOMER
    reminder = req.timeline.get(action="no_answer_reminder")
    assert reminder.visible_to_customer
    run_tasks()
    assert len(mail.outbox) == 1 and "Reminder" in mail.outbox[0].subject
    assert "we will close the request" in mail.outbox[0].body

    closed_at = req.answer_due_at + dt.timedelta(minutes=1)
    result = s.no_answer_run(now=closed_at)
    assert result.moved == {req.public_id: Status.UNANSWERED}
    req = reload(req)
    assert req.status == Status.UNANSWERED and not req.is_open
    event = req.timeline.get(action="no_answer_close")
    assert event.actor_kind == "system" and event.from_status == Status.WAITING_FOR_CUSTOMER
    run_tasks()
    assert "closed" in mail.outbox[-1].subject
    # the order is not held: the customer applies again
    again = submit(customer, order, closed_at + dt.timedelta(hours=1))
    assert again.is_open and again.pk != req.pk


def test_chinese_customer_gets_the_reminder_and_close_in_chinese(customer, order, agent):
    customer.language = "zh-hans"
    customer.save()
    publish_with(waiting="close")
    t0 = timezone.now()
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue",
                                  now=t0, language="zh-hans")
    s.refund_request_ask_info(public_id=req.public_id, user=agent, message="请发截图", now=t0)
    run_tasks()
    mail.outbox.clear()
    req = reload(req)
    s.no_answer_run(now=req.answer_remind_at)
    s.no_answer_run(now=req.answer_due_at)
    run_tasks()
    subjects = [m.subject for m in mail.outbox]
    assert "提醒" in subjects[0] and "已关闭" in subjects[1]
    assert "关闭该申请" in mail.outbox[0].body


def test_unanswered_offer_taken_as_accepted_sends_the_money(customer, order, agent):
    publish_with(offered="accept")
    t0 = timezone.now()
    req = submit(customer, order, t0)
    s.refund_request_offer(public_id=req.public_id, user=agent, amount="10.00", clause="default", now=t0)
    req = reload(req)
    due = req.answer_due_at
    # the worker was down until after the due date: the reminder comes first, and the close waits 4 more days
    late = due + dt.timedelta(days=1)
    assert s.no_answer_run(now=late).reminded == [req.public_id]
    req = reload(req)
    assert req.status == Status.OFFERED and req.answer_due_at == bdays(late, 4)
    s.no_answer_run(now=req.answer_due_at)
    req = reload(req)
    assert req.status in (Status.ACCEPTED, Status.REFUNDING)
    assert req.approved_amount_minor == 1000
    assert Refund.objects.get(request=req).amount_minor == 1000
    assert req.timeline.filter(action="no_answer_accept", actor_kind="system").exists()


def test_unanswered_question_goes_back_to_review_with_the_deadline_moved(customer, order, agent):
    publish_with(waiting="review")
    t0 = timezone.now()
    req = submit(customer, order, t0)
    due_before = reload(req).review_due_at
    s.refund_request_ask_info(public_id=req.public_id, user=agent, message="Which device?", now=t0)
    req = reload(req)
    s.no_answer_run(now=req.answer_remind_at)
    s.no_answer_run(now=req.answer_due_at)
    req = reload(req)
    assert req.status == Status.IN_REVIEW and req.review_due_at > due_before
    assert req.answer_due_at is None and req.answer_reminded_at is None


def test_unanswered_offer_taken_as_declined(customer, order, agent):
    publish_with(offered="decline")
    t0 = timezone.now()
    req = submit(customer, order, t0)
    s.refund_request_offer(public_id=req.public_id, user=agent, amount="5.00", clause="default", now=t0)
    req = reload(req)
    s.no_answer_run(now=req.answer_remind_at)
    s.no_answer_run(now=req.answer_due_at)
    assert reload(req).status == Status.DECLINED


def test_an_answer_stops_the_clock(customer, order, agent):
    publish_with()
    t0 = timezone.now()
    req = submit(customer, order, t0)
    s.refund_request_ask_info(public_id=req.public_id, user=agent, message="Which device?", now=t0)
    s.refund_request_reply(customer=customer, public_id=req.public_id, message="An iPhone", now=t0)
    req = reload(req)
    assert req.answer_due_at is None
    result = s.no_answer_run(now=t0 + dt.timedelta(days=60))
    assert result.reminded == [] and result.moved == {}
    assert reload(req).status == Status.IN_REVIEW


def test_the_worker_runs_it_periodically():
    from refunddesk.core.worker import PERIODIC_JOBS

    assert PERIODIC_JOBS["no-answer"].shared


def test_shipped_policies_declare_what_happens_without_an_answer():
    vpn = load_policy("policies/subscription-vpn.yaml")
    std = load_policy("policies/standard-14-day.yaml")
    assert vpn.version == std.version == 5
    assert (vpn.no_answer.remind_after, vpn.no_answer.close_after) == (3, 7)
    assert vpn.no_answer.outcome("waiting_for_customer") == "close" and std.no_answer.outcome("offered") == "accept"


@pytest.mark.parametrize(("block", "says"), [
    ("  remind_after: 5\n  close_after: 5\n", "close_after (5) must be more business days than remind_after (5)"),
    ("  remind_after: 2\n  close_after: 5\n  offered: review\n", "offered is one of close, accept, decline"),
    ("  remind_after: 2\n  close_after: 5\n  waiting: close\n", "did you mean 'waiting_for_customer'"),
    ("  close_after: 5\n", "'remind_after' is missing"),
])
def test_no_answer_is_validated_at_load(block, says):
    text = TEST_POLICY.read_text(encoding="utf-8").replace("refund_business_days: 5\n",
                                                           "refund_business_days: 5\nno_answer:\n" + block, 1)
    with pytest.raises(PolicyError) as info:
        load_policy_text(text, "draft")
    assert says in str(info.value)


@pytest.mark.parametrize(("language", "says"), [
    ("en", "We remind you after 3 business days. After 7 business days without an answer: a question we asked "
           "closes the request (you can apply again); an offer we made closes the request."),
    ("zh-hans", "3 个工作日后我们会提醒您。7 个工作日仍未答复的"),
])
def test_the_public_policy_says_what_happens_without_an_answer(language, says):
    from django.test import Client

    from tests.portal.test_customer_pages import visible_text

    document = open("policies/subscription-vpn.yaml", encoding="utf-8").read()
    cases = open("policies/subscription-vpn.cases.yaml", encoding="utf-8").read()
    policy_publish(document=document, cases=cases, effective_at=timezone.now() - dt.timedelta(days=1))
    html = Client(HTTP_ACCEPT_LANGUAGE=language).get("/policy/").content.decode()
    assert says in " ".join(visible_text(html).split())

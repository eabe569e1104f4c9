"""The pages staff work in, in real Chromium (issue 17): a request stuck waiting for the customer is reminded and
then closed as the policy says; a form that confirms says what is missing before asking; no console page scrolls
sideways at 390 px, in either language. Every console page is saved in screenshots/ at 1280 and 390 px in both
languages (staff-<page>-<language>-<width>.png)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from refunddesk.core import roles
from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from refunddesk.status import services as status_services
from tests.e2e.conftest import LOCALES, SCREENSHOTS, WIDTHS, make_png
from tests.e2e.test_customer_pages import sign_in_as
from tests.factories import CustomerFactory, OrderFactory, UsageFactory, UserFactory
from tests.refunds.test_no_answer import publish_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits(page, path: str, name: str, language: str, width: int) -> None:
    """Open `path`, check nothing is wider than the window, save the screenshot."""
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    page.wait_for_load_state("load")
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{path} in {language} scrolls sideways at {width} px: {wide} px wide"
    if width < 500:  # the top bar is two short rows (brand, name, language; the navigation), not a tall block
        bar = page.evaluate("document.querySelector('.topbar').getBoundingClientRect().height")
        assert bar < 110, f"{path} in {language}: the top bar is {bar} px high at {width} px"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"staff-{name}-{language}-{width}.png"), full_page=True)


def customer_with_order(email="stuck@example.test", language="en"):
    user = UserFactory(username=email, email=email)
    customer = CustomerFactory(user=user, email=email, name="Stuck Customer", language=language)
    order = OrderFactory(customer=customer)
    UsageFactory(order=order)
    return customer, order


# --- a stuck request ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", list(LOCALES))
def test_a_stuck_request_is_reminded_then_closed_as_the_policy_says(at, agent, language):
    publish_with(waiting="close", remind=3, close=7)
    customer, order = customer_with_order(language=language)
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue",
                                  language=language)
    s.refund_request_ask_info(public_id=req.public_id, user=agent, message="Which server do you use?")
    req.refresh_from_db()
    words = {
        "en": ("this request will be closed", "We reminded you that we are waiting for your answer",
               "Closed: you did not answer", "We did not hear from you", "Apply again",
               "Closed: the customer did not answer", "Customer reminded: no answer yet"),
        "zh-hans": ("本申请将被关闭", "我们提醒您：我们正在等待您的回复", "已关闭：您未回复", "我们未收到您的回复",
                    "再次申请", "已关闭：客户未回复", "已提醒客户：尚未回复"),
    }[language]
    me = at(language, 390)
    sign_in_as(me, customer.email, language)
    me.goto(f"/portal/requests/{req.public_id}/")
    expect(me.locator("#answer-due")).to_contain_text(words[0])

    s.no_answer_run(now=req.answer_remind_at + dt.timedelta(minutes=1))
    me.reload()
    expect(me.locator("#timeline")).to_contain_text(words[1])
    assert RefundRequest.objects.get(pk=req.pk).status == Status.WAITING_FOR_CUSTOMER

    s.no_answer_run(now=req.answer_due_at + dt.timedelta(minutes=1))
    me.reload()
    expect(me.locator("#status-badge")).to_have_text(words[2])
    expect(me.locator("#unanswered")).to_contain_text(words[3])
    expect(me.locator("#apply-again")).to_have_text(words[4])
    me.screenshot(path=str(SCREENSHOTS / f"customer-request-unanswered-{language}-390.png"), full_page=True)

    staff = at(language, 1280)
    sign_in_as(staff, agent.username, language)
    staff.goto(f"/console/requests/{req.public_id}/")
    expect(staff.locator("#status-badge")).to_have_text(words[5])
    expect(staff.locator("#timeline")).to_contain_text(words[6])
    staff.screenshot(path=str(SCREENSHOTS / f"staff-case-unanswered-{language}-1280.png"), full_page=True)


# --- validation before confirmation ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", list(LOCALES))
def test_an_empty_approve_form_says_the_reason_is_required_before_asking_to_confirm(at, agent, published_policy,
                                                                                     language):
    customer, order = customer_with_order()
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    page = at(language, 1280)
    asked: list[str] = []
    page.on("dialog", lambda dialog: asked.append(dialog.message))
    sign_in_as(page, agent.username, language)
    page.goto(f"/console/requests/{req.public_id}/")
    required = {"en": "This field is required.", "zh-hans": "此项为必填项。"}[language]
    for action in ("approve", "reject"):
        form = page.locator(f"form[action$='/{action}/']")
        form.locator("button[type=submit]").click()
        expect(form.locator(f"#id_{action}-reason_error")).to_have_text(required)
        assert asked == [], asked  # nothing was asked before saying what is missing
    assert RefundRequest.objects.get(pk=req.pk).status == Status.IN_REVIEW
    form = page.locator("form[action$='/approve/']")
    form.locator("textarea[name=approve-reason]").fill("Outage confirmed")
    form.locator("button[type=submit]").click()
    expect(page.locator("#status-badge")).not_to_have_text(
        {"en": "In review", "zh-hans": "审核中"}[language])
    assert len(asked) == 1  # now the confirmation
    assert RefundRequest.objects.get(pk=req.pk).status in (Status.APPROVED, Status.REFUNDING, Status.REFUNDED)


# --- every console page on a phone ---------------------------------------------------------------------------


def _boss():
    boss = UserFactory(username="boss", first_name="Li", last_name="Ming", is_staff=True)
    boss.groups.set(Group.objects.filter(name__in=[roles.AGENT, roles.SUPERVISOR, roles.FINANCE,
                                                   roles.POLICY_OWNER]))
    return boss


def test_no_console_page_scrolls_sideways_on_a_phone(at, agent, supervisor, published_policy):
    """Issue 17: the case page was 433 px wide in 390 (its facts table), the queue's status filter was cut off.
    Every console page, in both languages, fits 390 px; saved at 1280 and 390 px."""
    boss = _boss()
    customer, order = customer_with_order()
    in_review = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue",
                                        description="The connection drops every few minutes since Monday.",
                                        files=[s.Upload("screenshot.png", make_png())])
    s.refund_request_assign(public_id=in_review.public_id, user=agent)
    waiting_order = OrderFactory(customer=customer)
    UsageFactory(order=waiting_order)
    waiting = s.refund_request_submit(customer=customer, order_number=waiting_order.external_id, reason="other")
    s.refund_request_ask_info(public_id=waiting.public_id, user=agent, message="Which server do you use?")
    appeal_order = OrderFactory(customer=customer)
    UsageFactory(order=appeal_order)
    appealed = s.refund_request_submit(customer=customer, order_number=appeal_order.external_id,
                                       reason="changed_mind")
    s.refund_request_appeal(customer=customer, public_id=appealed.public_id, reason="I was charged for nothing.")
    manual = OrderFactory(customer=customer, gateway="manual")
    UsageFactory(order=manual)
    paid = s.refund_request_submit(customer=customer, order_number=manual.external_id, reason="duplicate_charge")
    assert Refund.objects.filter(request=paid, status=RefundStatus.PENDING).exists()
    status_services.region_upsert(code="cn-east", name_en="China East", name_zh="华东", position=0)
    incident, _ = status_services.incident_open(
        title_en="Slow connections", title_zh="连接缓慢", regions=["cn-east"], severity="degraded",
        started_at=None, ended_at=None, message_en="We are looking into it.", message_zh="我们正在调查。")
    pages = [("/console/queue/", "queue"), ("/console/queue/?status=waiting_for_customer", "queue-filtered"),
             ("/console/appeals/", "appeals"), (f"/console/requests/{in_review.public_id}/", "case"),
             (f"/console/requests/{waiting.public_id}/", "case-waiting"),
             (f"/console/requests/{appealed.public_id}/", "case-appeal"), ("/console/finance/", "finance"),
             ("/console/policy/", "policy-editor"), ("/console/calendar/", "calendar"),
             ("/console/status/", "incidents"), ("/console/status/incidents/new/", "incident-new"),
             (f"/console/status/incidents/{incident.pk}/", "incident")]
    for language in LOCALES:
        for width in WIDTHS:
            page = at(language, width)
            sign_in_as(page, boss.username, language)
            for path, name in pages:
                fits(page, path, name, language, width)
            if width > 500:
                continue
            page.goto("/console/queue/")  # the status filter is not cut off: it has the form's whole width
            status, form = page.evaluate("""[document.querySelector('#id_status').getBoundingClientRect().width,
                document.querySelector('form.filters').getBoundingClientRect().width]""")
            assert status > form * 0.8, (language, width, status, form)


# --- the policy editor --------------------------------------------------------------------------------------


def test_the_policy_editor_highlights_yaml_and_shows_problems_and_tests_at_their_lines(at, published_policy):
    owner = _boss()
    page = at("en", 1280)
    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    sign_in_as(page, owner.username, "en")
    page.goto("/console/policy/")
    editor = page.locator(".CodeMirror[data-editor-for=document]")
    expect(editor).to_be_visible()
    expect(editor.locator(".cm-atom, .cm-string, .cm-meta, .cm-comment").first).to_be_visible()  # highlighted
    page.locator("button[value=test]").click()
    # the tests beside the clause they exercise: after the line "  - id: changed-mind"
    expect(page.locator("#tests-by-clause")).to_contain_text("changed-mind")
    passing = editor.locator(".CodeMirror-linewidget .cm-mark-pass")
    expect(passing.first).to_be_visible()
    lines = page.evaluate("""() => { const cm = document.querySelector('.CodeMirror[data-editor-for=document]').CodeMirror;
        const out = []; cm.eachLine(h => { if (h.widgets && h.widgets.some(w => w.node.classList.contains('cm-mark-pass')))
        out.push(cm.getLine(cm.getLineNumber(h))); }); return out; }""")
    assert any("id: changed-mind" in line for line in lines), lines  # at each clause's own line
    assert all(re.search(r"id:|default:|store_purchases:|outcome: review", line) for line in lines), lines
    page.screenshot(path=str(SCREENSHOTS / "staff-policy-editor-tests-en-1280.png"), full_page=True)
    # a mistake: said at its line, in the editor
    page.evaluate("""() => { const cm = document.querySelector('.CodeMirror[data-editor-for=document]').CodeMirror;
        cm.setValue(cm.getValue().replace('outcome: reject', 'outcome: rejekt')); }""")
    page.locator("button[value=check]").click()
    error = editor.locator(".CodeMirror-linewidget .cm-mark-error").first
    expect(error).to_contain_text("rejekt")
    line_of_error = page.evaluate("""() => { const cm = document.querySelector('.CodeMirror[data-editor-for=document]').CodeMirror;
        let found = -1; cm.eachLine(h => { if (h.widgets && h.widgets.some(w => w.node.classList.contains('cm-mark-error')))
        found = cm.getLineNumber(h); }); return cm.getLine(found); }""")
    assert "rejekt" in line_of_error
    page.screenshot(path=str(SCREENSHOTS / "staff-policy-editor-error-en-1280.png"), full_page=True)
    assert refused == []

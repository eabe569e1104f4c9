"""End-to-end flows in real Chromium: what customers and staff click, on the live server."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from tests.e2e.conftest import make_png, shoot, sign_in
from tests.factories import CustomerFactory, OrderFactory, UsageFactory, UserFactory
from tests.tasks import run_tasks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def submit(customer, order, reason="technical_issue", **kw):
    return s.refund_request_submit(customer=customer, order_number=order.external_id, reason=reason, **kw)


def test_customer_applies_with_a_file_and_sees_the_decision(new_page, published_policy, customer, order):
    page = new_page()
    sign_in(page, "cust_a@example.test")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.locator("#order-ORD-100 .cite").last).to_contain_text("Changing your mind is not a reason")  # in words
    shoot(page, "portal-orders")
    page.get_by_role("link", name="Apply for a refund").click()
    page.get_by_label("Why do you want a refund?").select_option("duplicate_charge")
    page.get_by_label("What happened?").fill("I was charged twice on the same day.")
    page.get_by_label("Evidence").set_input_files([{"name": "bank.png", "mimeType": "image/png", "buffer": make_png()}])
    shoot(page, "portal-apply")
    page.get_by_role("button", name="Send my request").click()
    expect(page.locator("#status")).to_contain_text("is being refunded")
    expect(page.locator("#timeline")).to_contain_text("Approved by the refund policy")
    run_tasks()  # the sandbox gateway pays it
    page.reload()
    expect(page.locator("#status-badge")).to_have_text("Refunded")
    expect(page.locator("#arrival")).to_contain_text("Expected in your account by")
    expect(page.get_by_role("link", name="bank.png")).to_be_visible()
    shoot(page, "portal-request-refunded")
    page.select_option("#lang-select", "zh-hans")  # the language switcher, on any page
    expect(page.locator("#status-badge")).to_have_text("已退款")
    expect(page.locator("#arrival")).to_contain_text("预计到账日期")
    phone = new_page(phone=True)
    sign_in(phone, "cust_a@example.test")
    phone.goto(page.url)
    shoot(phone, "portal-request-phone")


def test_ask_answer_offer_accept_paid(new_page, published_policy, customer, order, agent):
    req = submit(customer, order, description="The VPN drops every few minutes",
                 files=[s.Upload("error.png", make_png())])
    staff = new_page()
    sign_in(staff, agent.username)
    expect(staff).to_have_url(re.compile(r"/console/queue/$"))
    expect(staff.locator("#queue")).to_contain_text(req.public_id)
    shoot(staff, "console-queue")
    staff.get_by_role("link", name=req.public_id).click()
    expect(staff.locator("#trace")).to_contain_text("default")
    expect(staff.locator("#evidence img")).to_be_visible()
    assert staff.evaluate("document.querySelector('#evidence img').naturalWidth") == 480
    shoot(staff, "console-case")
    staff.get_by_text("Ask the customer").click()
    staff.get_by_label("What should the customer send or try?").fill("Which server do you connect to?")
    staff.get_by_role("button", name="Send the question").click()
    expect(staff.locator("#status-badge")).to_have_text("Waiting for the customer")  # staff's words

    me = new_page()
    sign_in(me, "cust_a@example.test")
    me.goto(f"/portal/requests/{req.public_id}/")
    expect(me.locator("#status")).to_contain_text("Which server do you connect to?")
    me.get_by_label("Your answer").fill("Tokyo 3, since Monday.")
    me.get_by_role("button", name="Send my answer").click()
    expect(me.locator("#status")).to_contain_text("A person is reviewing your request")

    staff.reload()
    staff.get_by_text("Offer an amount").click()
    offer = staff.locator("form[action$='/offer/']")
    offer.get_by_label("Amount").fill("99.00")  # more than was paid: refused beside the field
    offer.get_by_label("Message to the customer").fill("Half of the unused month")
    offer.get_by_role("button", name="Send the offer").click()
    expect(staff.locator("#id_offer-amount_error")).to_contain_text("more than is still refundable")
    offer = staff.locator("form[action$='/offer/']")
    expect(offer.get_by_label("Message to the customer")).to_have_value("Half of the unused month")
    shoot(staff, "console-case-error")
    offer.get_by_label("Amount").fill("12.50")
    offer.get_by_role("button", name="Send the offer").click()
    expect(staff.locator("#status-badge")).to_have_text("Offer made")

    me.reload()
    expect(me.locator("#status")).to_contain_text("12.50")
    shoot(me, "portal-offer")
    me.get_by_role("button", name="Accept the offer").click()
    expect(me.locator("#status-badge")).to_have_text("Refund in progress")
    run_tasks()
    me.reload()
    expect(me.locator("#status-badge")).to_have_text("Refunded")
    expect(me.locator("#timeline")).to_contain_text("Refund paid")
    expect(me.locator("#arrival")).to_be_visible()
    shoot(me, "portal-request-timeline")
    assert RefundRequest.objects.get().status == Status.REFUNDED


def test_rejected_customer_appeals_and_a_supervisor_decides(new_page, published_policy, customer, order, agent,
                                                            supervisor):
    req = submit(customer, order)
    s.refund_request_reject(public_id=req.public_id, user=agent, reason="The service works on our side.",
                            clause="default")
    me = new_page()
    sign_in(me, "cust_a@example.test")
    me.goto("/portal/requests/")
    me.get_by_role("link", name=req.public_id).click()
    expect(me.locator("#status")).to_contain_text("The service works on our side.")
    me.get_by_label("Why do you disagree with the decision?").fill("It failed all week; logs attached.")
    me.get_by_role("button", name="Send my appeal").click()
    expect(me.locator("#status-badge")).to_have_text("Appealed")

    boss = new_page()
    sign_in(boss, supervisor.username)
    boss.goto("/console/appeals/")
    expect(boss.locator("#queue")).to_contain_text(req.public_id)
    shoot(boss, "console-appeals")
    boss.get_by_role("link", name=req.public_id).click()
    form = boss.locator("#appeal-form")
    expect(form).to_be_visible()  # open by default on an appeal
    shoot(boss, "console-appeal-case")
    form.get_by_label("Reason for the decision").fill("Our logs confirm the outage.")
    form.get_by_role("button", name="Uphold the appeal: refund").click()
    expect(boss.locator("#status-badge")).to_have_text("Refund in progress")
    run_tasks()
    me.reload()
    expect(me.locator("#status-badge")).to_have_text("Refunded")
    expect(me.locator("#timeline")).to_contain_text("Appeal upheld")


def test_finance_and_policy_editor(new_page, published_policy, agent, finance):
    from django.contrib.auth.models import Group

    customer = CustomerFactory(name="Manual Ma")
    order = OrderFactory(customer=customer, gateway="manual", payment_method="bank_transfer")
    UsageFactory(order=order)
    req = submit(customer, order, reason="duplicate_charge")
    money = new_page()
    sign_in(money, finance.username)
    expect(money).to_have_url(re.compile(r"/console/finance/$"))
    expect(money.locator("#finance")).to_contain_text(req.public_id)
    shoot(money, "console-finance")
    money.get_by_label("Payment reference").fill("BANK-2026-001")
    money.get_by_role("button", name="Mark as paid").click()
    expect(money.locator(".messages")).to_contain_text("Recorded as paid")
    assert RefundRequest.objects.get(pk=req.pk).status == Status.REFUNDED

    owner = UserFactory(username="owner_e2e", is_staff=True)
    owner.groups.set(Group.objects.filter(name="policy_owner"))
    editor = new_page()
    sign_in(editor, owner.username)
    expect(editor).to_have_url(re.compile(r"/console/policy/$"))
    editor.locator(".CodeMirror[data-editor-for=document]").wait_for()

    def edit(old: str, new: str) -> None:  # the document is in CodeMirror (its textarea is hidden)
        editor.evaluate("""([a, b]) => { const cm = document.querySelector('.CodeMirror[data-editor-for=document]')
            .CodeMirror; cm.setValue(cm.getValue().replace(a, b)); }""", [old, new])

    edit('request.reason == "changed_mind"', "request.reasn == 1")
    editor.get_by_role("button", name="Check").click()
    expect(editor.locator("#check-result")).to_contain_text("changed-mind")
    shoot(editor, "console-policy-check")
    editor.locator(".CodeMirror[data-editor-for=document]").wait_for()
    edit("request.reasn == 1", 'request.reason == "changed_mind"')
    edit("version: 1", "version: 2")
    editor.get_by_role("button", name="Run the tests").click()
    expect(editor.locator("#test-result")).to_contain_text("OK:")
    editor.get_by_role("button", name="Compare with the version in force").click()
    expect(editor.locator("#diff-result")).to_contain_text("+version: 2")
    shoot(editor, "console-policy-editor")


def test_zh_hans_end_to_end(new_page, published_policy, agent):
    user = UserFactory(username="wang", email="wang@example.test", first_name="王芳")
    customer = CustomerFactory(user=user, email="wang@example.test", name="王芳", language="zh-hans")
    order = OrderFactory(customer=customer, external_id="ORD-ZH-1")
    UsageFactory(order=order)
    me = new_page(locale="zh-CN")
    me.goto("/accounts/login/")
    expect(me.locator("h1")).to_have_text("登录")
    me.locator("#id_email").fill("wang@example.test")  # the one-time sign-in link
    me.locator("form[action='/accounts/link/'] button").click()
    expect(me.locator("h1")).to_have_text("请查收邮件")
    run_tasks()
    path = re.search(r"(/accounts/link/\S+/)", mail.outbox[-1].body).group(1)
    assert "登录" in mail.outbox[-1].subject
    me.goto(path)
    me.locator("main form button[type=submit]").click()
    expect(me).to_have_url(re.compile(r"/portal/$"))
    expect(me.locator("h1")).to_have_text("我的订单")
    shoot(me, "portal-orders-zh")
    me.locator("#order-ORD-ZH-1 a.btn").click()
    me.locator("select[name=reason]").select_option("technical_issue")
    me.locator("textarea[name=description]").fill("连接总是断开。")
    shoot(me, "portal-apply-zh")
    me.locator("form[enctype] button[type=submit]").click()
    expect(me.locator("#status")).to_contain_text("正在由专人审核")
    expect(me.locator("#status")).to_contain_text("年")  # the deadline, as a Chinese date
    req = RefundRequest.objects.get(order=order)
    assert req.language == "zh-hans"

    staff = new_page(locale="zh-CN")
    sign_in(staff, agent.username)
    expect(staff.locator("h1")).to_contain_text("待处理")
    staff.goto(f"/console/requests/{req.public_id}/")
    shoot(staff, "console-case-zh")
    form = staff.locator("form[action$='/approve/']")
    form.locator("textarea[name=approve-reason]").fill("已确认故障。")
    form.locator("button[type=submit]").click()
    expect(staff.locator("#status-badge")).to_have_text("退款处理中")
    run_tasks()
    me.reload()
    expect(me.locator("#status-badge")).to_have_text("已退款")
    expect(me.locator("#timeline")).to_contain_text("退款已支付")
    shoot(me, "portal-request-zh")

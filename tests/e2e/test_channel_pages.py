"""The channels' pages in real Chromium: the customer's inbox (站内信) and Link WeChat page, and the agent's case
page with the conversation and its reply box, at 1280 and 390 px in both languages, the customer's pages no wider than the screen
and the conversation inside it (screenshots/channels-<page>-<language>-<width>.png)."""

from __future__ import annotations

import pytest

from refunddesk.channels import services as channel_services
from refunddesk.refunds.models import RefundRequest
from tests.e2e.conftest import LOCALES, PASSWORD, WIDTHS, shoot, sign_in
from tests.factories import CustomerFactory, OrderFactory, UsageFactory, UserFactory
from tests.tasks import run_tasks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page, width: int) -> None:
    wide = page.evaluate(f"""[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > {width})
        .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"wider than the screen: {wide}"


def test_inbox_wechat_and_conversation_pages(published_policy, agent, at, settings):
    settings.REFUNDDESK_MAIL_ADDRESS = "refunds@shop.test"
    user = UserFactory(username="mei", email="mei@example.cn")
    customer = CustomerFactory(user=user, email="mei@example.cn", name="Mei", language="en")
    UsageFactory(order=OrderFactory(customer=customer, external_id="ORD-5150"))
    channel_services.mail_receive(raw=(
        b"From: Mei <mei@example.cn>\r\nTo: refunds@shop.test\r\nSubject: refund\r\nMessage-ID: <m1@example.cn>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nPlease refund ORD-5150, I am not satisfied with the speed."
        b"\r\n\r\nOn Monday, support wrote:\r\n> How can we help?\r\n"))
    run_tasks()
    req = RefundRequest.objects.get()
    channel_services.staff_message_send(public_id=req.public_id, user=agent, channel="email",
                                        message="Which server do you use?")
    run_tasks()
    for language in LOCALES:
        customer.language = language
        customer.save()
        for width in WIDTHS:
            page = at(language, width)
            sign_in(page, "mei@example.cn", PASSWORD)
            page.goto("/portal/inbox/")
            assert page.locator("#inbox li").count() >= 3
            _fits(page, width)
            shoot(page, f"channels-inbox-{language}-{width}")
            page.goto("/portal/wechat/")
            page.locator("#wechat-link button[type=submit]").click()
            assert page.locator("#wechat-code").inner_text().strip().isdigit()
            _fits(page, width)
            shoot(page, f"channels-wechat-{language}-{width}")

            staff = at(language, width)
            sign_in(staff, agent.username, PASSWORD)
            staff.goto(f"/console/requests/{req.public_id}/")
            conversation = staff.locator("#conversation")
            assert "Which server do you use?" in conversation.inner_text()
            assert staff.locator("#conversation input[value=email]").count() == 1
            # the conversation fits (the facts table beside it is wider than a phone: a console matter of its own)
            assert staff.evaluate("""[...document.querySelectorAll('#conversation *')]
                .every(e => e.getBoundingClientRect().right <= window.innerWidth)""")
            shoot(staff, f"channels-case-{language}-{width}")

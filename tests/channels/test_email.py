"""Customers apply and talk by email: a real IMAP mailbox (dovecot), fetched by refunddesk's worker job."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.core import mail

from refunddesk.channels import services
from refunddesk.channels.models import Cursor, Message
from refunddesk.refunds.models import Evidence, RefundRequest, TimelineEvent
from refunddesk.refunds.states import Status
from tests.channels.conftest import SUPPORT, email, png_bytes
from tests.factories import CustomerFactory, OrderFactory, UsageFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def li(db):
    """A Chinese-speaking customer with an order."""
    customer = CustomerFactory(email="li@example.cn", name="李雷", language="zh-hans")
    order = OrderFactory(customer=customer, external_id="ORD-2026-0042")
    UsageFactory(order=order)
    return customer


def fetch() -> None:
    """What the worker does every REFUNDDESK_MAIL_FETCH_SECONDS: the periodic job queues the fetch; it runs."""
    services.mail_fetch_enqueue()
    run_tasks()


def state() -> tuple:
    return (Message.objects.count(), RefundRequest.objects.count(), TimelineEvent.objects.count(),
            Evidence.objects.count(), len(mail.outbox))


def test_an_email_with_a_screenshot_becomes_a_decided_request_and_the_reply_joins_it(published_policy, mailbox, li):
    shot = png_bytes()
    mailbox.deliver(email(sender="Li Lei <li@example.cn>", subject="退款",
                          text="Hello, please refund ORD-2026-0042: I was charged twice.\n\n--\nLi Lei\nSent from my phone",
                          attachments=[("screenshot.png", shot, "image/png")]))
    fetch()

    req = RefundRequest.objects.get()
    assert req.customer == li and req.order.external_id == "ORD-2026-0042"
    assert req.reason == "duplicate_charge" and req.policy_clause == "duplicate-charge"
    assert req.status == Status.REFUNDED  # approved by the policy and paid through the sandbox
    evidence = req.evidence.get()
    assert evidence.content_type == "image/png" and evidence.file.read() == shot
    # the decision went back by email, in the customer's language, with a reply address that finds the request
    decided = next(m for m in mail.outbox if "退款申请已通过" in m.subject or "已批准" in m.subject
                   or "通过" in m.subject)
    assert decided.to == ["li@example.cn"] and req.public_id in decided.subject
    thread_token = req.thread.token
    assert decided.reply_to == [f"refunds+{thread_token}@shop.test"]
    assert decided.extra_headers["Auto-Submitted"] == "auto-generated"
    sent_id = decided.extra_headers["Message-ID"]
    assert Message.objects.filter(direction="out", external_id=sent_id, request=req).exists()

    # the customer answers the decision from their mail program: quoted history below their words
    reply = email(sender="li@example.cn", to=decided.reply_to[0], subject=f"Re: {decided.subject}",
                  text="谢谢，收到了！\n\nOn Sun, 29 Nov 2026 at 10:00, refunds@shop.test wrote:\n> "
                       + "\n> ".join(decided.body.splitlines()),
                  In_Reply_To=sent_id, References=sent_id)
    mailbox.deliver(reply)
    fetch()
    entry = req.timeline.filter(action="customer_message").get()
    assert entry.note == "谢谢，收到了！" and entry.data["channel"] == "email"
    kept = Message.objects.get(external_id=reply["Message-ID"])
    assert kept.request == req and kept.body == "谢谢，收到了！" and "wrote:" in kept.original

    # a second fetch of the same mailbox changes nothing; nor does reading it all again from the start
    before = state()
    fetch()
    assert state() == before
    Cursor.objects.all().delete()
    fetch()
    assert state() == before


def test_a_reply_found_by_its_headers_alone_without_the_plus_address(published_policy, mailbox, li):
    mailbox.deliver(email(sender="li@example.cn", subject="refund", text="Please refund ORD-2026-0042, not satisfied"))
    fetch()
    req = RefundRequest.objects.get()
    sent = Message.objects.filter(direction="out", request=req, channel="email").first()
    mailbox.deliver(email(sender="li@example.cn", subject="something else entirely", text="Any news?",
                          In_Reply_To=sent.external_id))
    fetch()
    assert req.timeline.filter(action="customer_message", note="Any news?").exists()


def test_the_subject_alone_never_joins_a_request(published_policy, mailbox, li):
    mailbox.deliver(email(sender="li@example.cn", subject="refund", text="Please refund ORD-2026-0042, not satisfied"))
    fetch()
    req = RefundRequest.objects.get()
    mailbox.deliver(email(sender="someone@else.example", subject=f"Re: [{req.public_id}] 我们已收到您的退款申请",
                          text="I am writing about this request"))
    fetch()
    assert not req.timeline.filter(action="customer_message").exists()
    stranger = Message.objects.get(sender="someone@else.example")
    assert stranger.request is None and stranger.status == Message.Status.UNKNOWN_SENDER


def test_an_unknown_sender_is_told_how_to_apply_and_kept_for_an_agent(published_policy, mailbox):
    mailbox.deliver(email(sender="stranger@example.org", subject="Refund please",
                          text="I want a refund for ORD-9999"))
    fetch()
    assert not RefundRequest.objects.exists()
    kept = Message.objects.get(direction="in")
    assert kept.status == Message.Status.UNKNOWN_SENDER and kept.body == "I want a refund for ORD-9999"
    [answer] = mail.outbox
    assert answer.to == ["stranger@example.org"] and "How to ask for a refund" in answer.subject
    assert "/portal/" in answer.body
    assert answer.extra_headers["Auto-Submitted"] == "auto-replied"
    assert answer.extra_headers["In-Reply-To"] == kept.external_id


def test_a_known_customer_without_an_order_number_is_asked_which_order(published_policy, mailbox, li):
    mailbox.deliver(email(sender="li@example.cn", subject="退款", text="我要退款，重复扣款了"))
    fetch()
    assert not RefundRequest.objects.exists()
    [question] = mail.outbox
    assert "请告诉我们需要退款的订单" in question.subject and "ORD-2026-0042" in question.body
    # the answer, with just the number, on the same thread
    mailbox.deliver(email(sender="li@example.cn", to=question.reply_to[0], subject="Re: 退款",
                          text="ORD-2026-0042\n\n> 我要退款，重复扣款了"))
    fetch()
    req = RefundRequest.objects.get()
    assert req.order.external_id == "ORD-2026-0042" and req.language == "zh-hans"
    # both messages are on the request's conversation, and none is left waiting for an agent
    assert set(Message.objects.filter(direction="in").values_list("request", flat=True)) == {req.pk}
    assert not Message.objects.filter(status=Message.Status.NEEDS_AGENT).exists()


def _auto_reply() -> EmailMessage:
    return email(sender="li@example.cn", subject="Automatic reply: refund ORD-2026-0042",
                 text="I am on holiday until Monday. Please refund ORD-2026-0042 is what I asked.",
                 Auto_Submitted="auto-replied", X_Autoreply="yes")


def _bounce() -> bytes:
    return (b"From: MAILER-DAEMON@mx.example.cn\r\nTo: refunds@shop.test\r\nSubject: Undelivered Mail Returned "
            b"to Sender\r\nMessage-ID: <bounce-1@mx.example.cn>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report;"
            b" report-type=delivery-status; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nYour "
            b"message about refund ORD-2026-0042 could not be delivered.\r\n--b1\r\nContent-Type: "
            b"message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.cn\r\n\r\nFinal-Recipient: rfc822; "
            b"li@example.cn\r\nAction: failed\r\nStatus: 5.1.1\r\n--b1--\r\n")


@pytest.mark.parametrize("make", [_auto_reply, _bounce,
                                  lambda: email(sender="li@example.cn", subject="refund ORD-2026-0042",
                                                text="refund ORD-2026-0042", Precedence="bulk"),
                                  lambda: email(sender="li@example.cn", subject="Out of office",
                                                text="refund ORD-2026-0042", Auto_Submitted="auto-generated")],
                         ids=["auto-reply", "bounce", "precedence-bulk", "auto-generated"])
def test_automatic_mail_is_kept_never_answered_and_never_a_request(published_policy, mailbox, li, make):
    mailbox.deliver(make())
    fetch()
    assert not RefundRequest.objects.exists() and mail.outbox == []
    kept = Message.objects.get()
    assert kept.status == Message.Status.AUTOMATED and kept.data["automated"]


def test_a_refused_attachment_is_said_and_the_good_one_kept(published_policy, mailbox, li):
    mailbox.deliver(email(sender="li@example.cn", subject="refund",
                          text="Please refund ORD-2026-0042, charged twice",
                          attachments=[("shot.png", png_bytes(), "image/png"),
                                       ("run.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/octet-stream")]))
    fetch()
    req = RefundRequest.objects.get()
    assert [e.original_name for e in req.evidence.all()] == ["shot.png"]
    kept = Message.objects.get(direction="in")
    assert any("run.exe" in why for why in kept.data["refused"])


def test_the_support_address_and_its_plus_addresses(settings):
    from refunddesk.channels import mail as m

    settings.REFUNDDESK_MAIL_ADDRESS = SUPPORT
    assert m.reply_address("abcdef0123456789abcd") == "refunds+abcdef0123456789abcd@shop.test"
    assert m.token_in(["x@y.z", "Refunds+ABCDEF0123456789ABCD@Shop.test"]) == "abcdef0123456789abcd"
    assert m.token_in(["other+abcdef0123456789abcd@shop.test"]) == ""


def test_a_bounce_marks_the_email_it_returns_as_not_delivered(published_policy, mailbox, li, agent):
    mailbox.deliver(email(sender="li@example.cn", subject="refund", text="Please refund ORD-2026-0042, not satisfied"))
    fetch()
    req = RefundRequest.objects.get()
    sent = Message.objects.get(direction="out", request=req, channel="email")
    bounce = _bounce().replace(b"--b1--", b"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: "
                               + sent.external_id.encode() + b"\r\nTo: li@example.cn\r\n--b1--")
    mailbox.deliver(bounce)
    fetch()
    sent.refresh_from_db()
    assert sent.status == Message.Status.FAILED and "bounced" in sent.error
    assert len(mail.outbox) == 1  # the bounce itself is never answered
    from django.test import Client

    staff = Client()
    staff.force_login(agent)
    assert "not delivered" in staff.get(f"/console/requests/{req.public_id}/").content.decode()


def test_agents_see_the_messages_kept_for_them_and_mark_them_handled(published_policy, mailbox, agent):
    from django.test import Client

    mailbox.deliver(email(sender="stranger@example.org", subject="Hello", text="Can I get my money back?"))
    fetch()
    staff = Client()
    staff.force_login(agent)
    page = staff.get("/console/messages/").content.decode()
    assert "Can I get my money back?" in page and "stranger@example.org" in page and 'id="nav-kept"' in page
    kept = Message.objects.get(direction="in")
    assert staff.post("/console/messages/", {"message": kept.pk}).status_code == 302
    kept.refresh_from_db()
    assert kept.status == Message.Status.HANDLED and kept.data["handled_by"] == agent.username
    assert "Can I get my money back?" not in staff.get("/console/messages/").content.decode()

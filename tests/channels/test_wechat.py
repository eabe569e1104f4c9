"""WeChat customer service (微信客服) in and out, against a fake WeCom that signs and encrypts its callbacks,
pages sync_msg with cursors and enforces WeChat's 48-hour / 5-message window."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.core import mail
from django.test import Client

from refunddesk.channels import services
from refunddesk.channels.models import Cursor, Message, WeChatLink
from refunddesk.core.errors import Conflict
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from tests.channels.conftest import png_bytes
from tests.factories import CustomerFactory, OrderFactory, UsageFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
USER = "wmEXTERNAL0001"


@pytest.fixture
def wang(db):
    customer = CustomerFactory(email="wang@example.cn", name="王芳", language="zh-hans")
    UsageFactory(order=OrderFactory(customer=customer, external_id="ORD-7788"))
    return customer


def deliver(callback) -> None:
    """WeCom POSTs the callback; refunddesk answers it and pulls the messages (the queued task)."""
    query, body = callback
    response = Client().post("/channels/wecom/callback?" + urlencode(query), data=body, content_type="text/xml")
    assert response.status_code == 200 and response.content == b"success"
    run_tasks()


def linked(wecom, customer) -> WeChatLink:
    code = services.wechat_link_code_create(customer=customer)
    deliver(wecom.customer_sends(USER, text=code.code))
    return WeChatLink.objects.get(customer=customer)


def test_the_callback_address_is_verified_and_forged_callbacks_refused(wecom):
    query, echo = wecom.verification()
    response = Client().get("/channels/wecom/callback?" + urlencode(query))
    assert response.status_code == 200 and response.content.decode() == echo
    query, body = wecom.customer_sends(USER, text="hi")
    query["msg_signature"] = "0" * 40
    assert Client().post("/channels/wecom/callback?" + urlencode(query), data=body,
                         content_type="text/xml").status_code == 401
    assert not Message.objects.exists()


def test_a_customer_links_wechat_with_the_portal_code(published_policy, wecom, wang):
    link = linked(wecom, wang)
    assert link.external_userid == USER and link.open_kfid == wecom.open_kfid
    [welcome] = wecom.sent
    assert welcome.touser == USER and "已关联" in welcome.content  # in the customer's language
    # an unknown WeChat user is told how to link, and kept for an agent
    deliver(wecom.customer_sends("wmSTRANGER", text="退款"))
    assert Message.objects.get(sender="wmSTRANGER").status == Message.Status.UNKNOWN_SENDER
    assert wecom.sent[-1].touser == "wmSTRANGER" and "/portal/wechat/" in wecom.sent[-1].content


def test_message_and_photo_on_the_request_the_agent_answers_and_the_refund_notice_follows(
        published_policy, wecom, wang, agent):
    linked(wecom, wang)
    wecom.page_size = 1  # sync_msg in pages of one message: the cursor carries the pull across them
    deliver(wecom.customer_sends(USER, text="请退款 ORD-7788，重复扣款了"))
    req = RefundRequest.objects.get()
    assert req.customer == wang and req.reason == "duplicate_charge"
    photo = png_bytes((10, 120, 10))
    deliver(wecom.customer_sends(USER, image=photo))
    assert req.evidence.get().file.read() == photo
    assert Cursor.objects.get(name=f"wecom:{wecom.open_kfid}").value == f"c{len(wecom.messages)}"

    # the decision and the refund went to WeChat, where the customer wrote, in Chinese; no email
    texts = [s.content for s in wecom.sent if s.touser == USER]
    assert any("您的退款已批准" in t for t in texts)
    assert any(t.startswith(f"[{req.public_id}] 您的 ¥30.00 退款已发出") for t in texts), texts
    req.refresh_from_db()
    assert req.status == Status.REFUNDED
    assert mail.outbox == []

    # the agent answers in the console; the console offers WeChat because its window is open
    staff = Client()
    staff.force_login(agent)
    page = staff.get(f"/console/requests/{req.public_id}/")
    assert 'value="wechat"' in page.content.decode()
    response = staff.post(f"/console/requests/{req.public_id}/message/",
                          {"message-message": "已为您安排退款，请留意到账。", "message-channel": "wechat"})
    assert response.status_code == 302
    run_tasks()
    assert wecom.sent[-1].content == "已为您安排退款，请留意到账。" and wecom.sent[-1].touser == USER
    assert req.timeline.filter(action="staff_message", data__channel="wechat").exists()
    kinds = list(Message.objects.filter(request=req).values_list("channel", "direction"))
    assert ("wechat", "in") in kinds and ("wechat", "out") in kinds


def test_wechat_window_closes_after_48_hours_and_email_is_offered_instead(published_policy, wecom, wang, agent):
    link = linked(wecom, wang)
    deliver(wecom.customer_sends(USER, text="请退款 ORD-7788，不满意"))
    req = RefundRequest.objects.get()
    link.refresh_from_db()
    link.last_inbound_at -= __import__("datetime").timedelta(hours=49)
    link.save()
    wecom.clock += 49 * 3600
    with pytest.raises(Conflict) as refused:
        services.staff_message_send(public_id=req.public_id, user=agent, message="Hello", channel="wechat")
    assert refused.value.field == "channel"
    staff = Client()
    staff.force_login(agent)
    page = staff.get(f"/console/requests/{req.public_id}/").content.decode()
    assert 'value="wechat"' not in page and "WeChat" in page
    services.staff_message_send(public_id=req.public_id, user=agent, message="Hello by email", channel="email")
    run_tasks()
    assert mail.outbox[-1].to == ["wang@example.cn"] and "Hello by email" in mail.outbox[-1].body


def test_five_messages_per_customer_message_then_email(published_policy, wecom, wang, agent):
    linked(wecom, wang)
    deliver(wecom.customer_sends(USER, text="请退款 ORD-7788，不满意"))
    req = RefundRequest.objects.get()
    sent_before = len(wecom.sent)
    allowed = 0
    for i in range(7):
        try:
            services.staff_message_send(public_id=req.public_id, user=agent, message=f"msg {i}", channel="wechat")
            allowed += 1
        except Conflict:
            break
    run_tasks()
    assert len(wecom.sent) - sent_before == allowed and allowed + 1 <= 5  # the notice counted too
    assert all(m.status == "sent" for m in Message.objects.filter(channel="wechat", direction="out"))


def test_a_message_wecom_refuses_goes_by_email(published_policy, wecom, wang, agent):
    link = linked(wecom, wang)
    deliver(wecom.customer_sends(USER, text="请退款 ORD-7788，不满意"))
    req = RefundRequest.objects.get()
    wecom.sent_since[USER] = 5  # WeChat counted messages refunddesk did not see (sent from WeCom's own app)
    services.staff_message_send(public_id=req.public_id, user=agent, message="您好", channel="wechat")
    run_tasks()
    failed = Message.objects.get(channel="wechat", direction="out", body="您好")
    assert failed.status == "failed" and "95001" in failed.error
    assert mail.outbox[-1].to == ["wang@example.cn"] and "您好" in mail.outbox[-1].body
    assert link.customer == wang

"""Site messages (站内信): the portal inbox holds everything sent to the customer on any channel, counts what
is unread, and the customer answers from there onto the request's timeline."""

from __future__ import annotations

import pytest
from django.test import Client

from refunddesk.channels.models import Message
from refunddesk.refunds import services as refund_services
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(customer):
    client = Client()
    client.force_login(customer.user)
    return client


def test_the_inbox_counts_unread_notices_and_takes_replies(published_policy, customer, order, signed_in, agent):
    req = refund_services.refund_request_submit(customer=customer, order_number=order.external_id,
                                                reason="not_satisfied")
    run_tasks()
    page = signed_in.get("/portal/requests/").content.decode()
    assert 'id="nav-inbox"' in page and "1 unread message" in page  # the "received" notice
    inbox = signed_in.get("/portal/inbox/").content.decode()
    assert req.public_id in inbox and "We received your refund request" in inbox
    assert "unread message" not in signed_in.get("/portal/requests/").content.decode()  # read now

    response = signed_in.post("/portal/inbox/", {"request": req.public_id, "message": "Here is more detail."})
    assert response.status_code == 302
    entry = req.timeline.get(action="customer_message")
    assert entry.note == "Here is more detail." and entry.data["channel"] == "site"
    # the agent sees it in the conversation, marked as coming from the portal, and can answer there
    staff = Client()
    staff.force_login(agent)
    case = staff.get(f"/console/requests/{req.public_id}/").content.decode()
    assert "Here is more detail." in case and "in the portal" in case
    assert staff.post(f"/console/requests/{req.public_id}/message/",
                      {"message-message": "Thanks, we are looking.", "message-channel": "site"}).status_code == 302
    assert Message.objects.filter(request=req, channel="site", direction="out").exists()
    assert "1 unread message" in signed_in.get("/portal/requests/").content.decode()


def test_an_empty_inbox_answer_is_refused_in_the_customers_language(published_policy, customer, order, signed_in):
    refund_services.refund_request_submit(customer=customer, order_number=order.external_id, reason="not_satisfied")
    customer.language = "zh-hans"
    customer.save()
    page = signed_in.post("/portal/inbox/", {"request": "RR-NOPE", "message": "  "},
                          HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200 and not Message.objects.filter(direction="in").exists()


def test_the_wechat_link_page_gives_a_one_time_code(customer, signed_in):
    page = signed_in.post("/portal/wechat/").content.decode()
    assert 'id="wechat-code"' in page

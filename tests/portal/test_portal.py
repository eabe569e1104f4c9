"""The customer portal: signing in, the orders with the policy's preview, applying, and each request."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from refunddesk.portal import services as portal_services
from refunddesk.portal.selectors import policy_preview
from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from tests.factories import CustomerFactory, OrderFactory, UsageFactory, UserFactory
from tests.refunds.test_workflow import PNG
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


def submit(customer, order, reason="technical_issue", **kw):
    return s.refund_request_submit(customer=customer, order_number=order.external_id, reason=reason, **kw)


# --- signing in -----------------------------------------------------------------------------------


def test_sign_in_with_email_and_password(customer):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/accounts/login/", {"login": "CUST_A@example.test", "password": "pw-for-tests"})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200


def test_wrong_password_is_shown_on_the_form(customer):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/login/",
                                                      {"login": "cust_a@example.test", "password": "nope"})
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()
    assert 'value="cust_a@example.test"' in response.content.decode()  # the input is kept


def test_signed_out_visitors_are_sent_to_sign_in():
    response = Client().get("/portal/requests/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/portal/requests/")


def test_one_time_sign_in_link(customer):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/accounts/link/", {"email": "cust_a@example.test"})
    assert "Check your email" in response.content.decode()
    run_tasks()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["cust_a@example.test"]
    path = re.search(r"https?://[^/\s]+(/accounts/link/\S+/)", mail.outbox[0].body).group(1)
    confirm = client.get(path)  # opening the link does not use it up (mail scanners open links)
    assert confirm.status_code == 200 and "cust_a@example.test" in confirm.content.decode()
    assert client.post(path).status_code == 302
    assert client.get("/portal/").status_code == 200
    # used once: a second use is refused
    again = Client(HTTP_ACCEPT_LANGUAGE="en").post(path)
    assert again.status_code == 400 and "already been used" in again.content.decode()


def test_a_link_for_an_unknown_email_looks_the_same_and_sends_nothing(db):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/link/", {"email": "nobody@example.test"})
    assert "Check your email" in response.content.decode()
    run_tasks()
    assert mail.outbox == []


def test_an_expired_or_forged_link_is_refused(customer, settings, monkeypatch):
    token = portal_services.sign_in_link_token(user=customer.user)
    monkeypatch.setattr(portal_services, "SIGN_IN_LINK_MAX_AGE", -1)
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/accounts/link/{token}/")
    assert response.status_code == 400 and "expired" in response.content.decode()
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(f"/accounts/link/{token[:-2]}xx/")
    assert response.status_code == 400 and "not valid" in response.content.decode()


def test_the_link_email_is_in_the_customers_language(db):
    user = UserFactory(username="zh_user", email="zh@example.test")
    CustomerFactory(user=user, email="zh@example.test", language="zh-hans")
    portal_services.sign_in_link_send(email="zh@example.test")
    run_tasks()
    assert "登录" in mail.outbox[0].subject


def test_sign_out(customer_client):
    assert customer_client.post("/accounts/logout/").status_code == 302
    assert customer_client.get("/portal/").status_code == 302


# --- orders and the preview -----------------------------------------------------------------------


def test_orders_show_what_the_policy_would_say_citing_the_rule_in_words(published_policy, customer_client, order):
    """Issue 17: the preview cites the rule in the policy's words with a link to its place in the policy, never
    its id ("Clause cited: changed-mind") nor "Policy workflow-test v1"."""
    html = customer_client.get("/portal/").content.decode()
    assert "ORD-100" in html
    assert "Changing your mind is not a reason for a refund." in html and "Refund approved at once" in html
    assert f'href="/policy/versions/{published_policy.pk}/#rule-3"' in html  # changed-mind, 4th rule tried
    assert "changed-mind" not in html and "duplicate-charge" not in html and "workflow-test" not in html
    assert "Workflow test policy, version 1" in html and "/portal/orders/ORD-100/apply/" in html


def test_the_preview_writes_nothing(published_policy, order):
    with CaptureQueriesContext(connection) as queries:
        preview = policy_preview(order=order)
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []
    assert preview.for_reason("changed_mind").outcome == "reject"
    assert preview.for_reason("duplicate_charge").amount.minor == 3000
    assert preview.for_reason("technical_issue").clause == "default"
    assert RefundRequest.objects.count() == 0


def test_store_orders_preview_the_store(published_policy, customer):
    order = OrderFactory(customer=customer, sales_channel="app_store", gateway="app_store")
    preview = policy_preview(order=order)
    assert [g.outcome for g in preview.groups] == ["redirect"]
    assert "reportaproblem.apple.com" in preview.groups[0].explanation["en"]


def test_no_policy_published_is_said_plainly(customer_client, order):
    html = customer_client.get("/portal/").content.decode()
    assert "no refund policy is published yet" in html


# --- applying -------------------------------------------------------------------------------------


def test_apply_with_a_file_and_see_the_decision(published_policy, customer_client, order):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = customer_client.post("/portal/orders/ORD-100/apply/", {
        "reason": "technical_issue", "description": "It drops every minute",
        "evidence": [SimpleUploadedFile("shot.png", PNG, content_type="image/png")],
    })
    req = RefundRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/portal/requests/{req.public_id}/"
    assert req.language == "en" and req.evidence.count() == 1
    html = customer_client.get(response["Location"]).content.decode()
    assert "A person is reviewing your request" in html and "shot.png" in html
    ev = req.evidence.get()
    file_response = customer_client.get(f"/portal/requests/{req.public_id}/evidence/{ev.pk}/")
    assert file_response.status_code == 200 and file_response["Content-Type"] == "image/png"
    assert file_response["X-Content-Type-Options"] == "nosniff"


def test_a_refused_file_is_shown_beside_the_field_and_the_text_kept(published_policy, customer_client, order):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = customer_client.post("/portal/orders/ORD-100/apply/", {
        "reason": "technical_issue", "description": "Keep this text",
        "evidence": [SimpleUploadedFile("evil.png", b"#!/bin/sh\nrm -rf /\n", content_type="image/png")],
    })
    html = response.content.decode()
    assert response.status_code == 200 and RefundRequest.objects.count() == 0
    assert 'id="id_evidence_error"' in html and "evil.png" in html
    assert "Keep this text" in html and 'aria-invalid="true"' in html


def test_a_missing_reason_is_a_field_error(published_policy, customer_client, order):
    html = customer_client.post("/portal/orders/ORD-100/apply/", {"reason": ""}).content.decode()
    assert 'id="id_reason_error"' in html


def test_another_customers_order_is_a_404(published_policy, customer_client):
    other = OrderFactory(external_id="ORD-OTHER")
    response = customer_client.get("/portal/orders/ORD-OTHER/apply/")
    assert response.status_code == 404 and "cannot find" in response.content.decode()
    assert other.refund_requests.count() == 0


def test_apply_page_for_an_order_with_an_open_request_links_to_it(published_policy, customer, customer_client, order):
    req = submit(customer, order)
    html = customer_client.get("/portal/orders/ORD-100/apply/").content.decode()
    assert req.public_id in html and "already has an open request" in html


# --- the request page and its actions --------------------------------------------------------------


@pytest.fixture
def in_review(published_policy, customer, order):
    return submit(customer, order, description="VPN drops")


def test_timeline_with_deadline(customer_client, in_review):
    html = customer_client.get(f"/portal/requests/{in_review.public_id}/").content.decode()
    assert "You applied" in html and "Sent to a person for review" in html
    assert "Decision by" in html


def test_answer_a_request_for_information(customer_client, in_review, agent):
    s.refund_request_ask_info(public_id=in_review.public_id, user=agent, message="Send a screenshot")
    url = f"/portal/requests/{in_review.public_id}/"
    assert "Send a screenshot" in customer_client.get(url).content.decode()
    response = customer_client.post(url + "reply/", {"message": ""})
    assert 'id="id_message_error"' in response.content.decode()
    response = customer_client.post(url + "reply/", {"message": "Here it is"})
    assert response.status_code == 302
    assert RefundRequest.objects.get().status == Status.IN_REVIEW


def test_accept_an_offer_and_see_the_arrival_date(customer_client, in_review, agent):
    s.refund_request_offer(public_id=in_review.public_id, user=agent, amount="12.50", clause="default",
                           note="Half of the unused period")
    url = f"/portal/requests/{in_review.public_id}/"
    html = customer_client.get(url).content.decode()
    assert "Half of the unused period" in html and "12.50" in html
    assert customer_client.post(url + "accept_offer/").status_code == 302
    run_tasks()
    html = customer_client.get(url).content.decode()
    req = RefundRequest.objects.get()
    assert req.status == Status.REFUNDED
    assert "Refunded" in html and "Expected in your account by" in html and 'id="arrival"' in html


def test_decline_withdraw_and_appeal(customer_client, published_policy, customer, agent):
    url = "/portal/requests/{}/"
    order = OrderFactory(customer=customer)
    req = submit(customer, order)
    s.refund_request_offer(public_id=req.public_id, user=agent, amount="1.00", clause="default")
    assert customer_client.post(url.format(req.public_id) + "decline_offer/", {"decline-note": "too little"}
                                ).status_code == 302
    assert RefundRequest.objects.get(pk=req.pk).status == Status.DECLINED
    assert customer_client.post(url.format(req.public_id) + "withdraw/", {}).status_code == 302
    assert RefundRequest.objects.get(pk=req.pk).status == Status.WITHDRAWN

    rejected = submit(customer, OrderFactory(customer=customer), reason="changed_mind")
    html = customer_client.get(url.format(rejected.public_id)).content.decode()
    assert "Changing your mind is not a reason for a refund." in html and "Disagree? Appeal" in html
    assert "changed-mind" not in html  # the rule in its words, never its id (issue 17)
    response = customer_client.post(url.format(rejected.public_id) + "appeal/", {"reason": "I had an emergency"})
    assert response.status_code == 302
    assert RefundRequest.objects.get(pk=rejected.pk).status == Status.APPEALED


def test_an_illegal_move_is_shown_as_a_form_error(customer_client, in_review):
    response = customer_client.post(f"/portal/requests/{in_review.public_id}/accept_offer/")
    assert response.status_code == 200 and "cannot be moved" in response.content.decode()


def test_another_customers_request_and_files_are_404(in_review, db):
    user = UserFactory(username="someone_else")
    CustomerFactory(user=user)
    client = Client()
    client.force_login(user)
    assert client.get(f"/portal/requests/{in_review.public_id}/").status_code == 404
    assert client.post(f"/portal/requests/{in_review.public_id}/withdraw/").status_code == 404


def test_staff_without_a_customer_account_get_a_clear_page(agent):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent)
    response = client.get("/portal/")
    assert response.status_code == 403 and "no customer account" in response.content.decode()


# --- the request list: a fixed number of queries ---------------------------------------------------


def _requests(customer, n):
    for _ in range(n):
        order = OrderFactory(customer=customer)
        UsageFactory(order=order)
        RefundRequest.objects.create(customer=customer, order=order, reason="other", currency="CNY",
                                     status=Status.REFUNDED)


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_request_list_query_count_does_not_grow(customer, customer_client):
    _requests(customer, 5)
    few, response = _count_queries(customer_client, "/portal/requests/")
    assert response.content.decode().count("/portal/requests/RR-") == 5
    _requests(customer, 195)
    many, response = _count_queries(customer_client, "/portal/requests/")
    assert response.content.decode().count("/portal/requests/RR-") == 200
    print(f"request list: {few} queries for 5 rows, {many} for 200")
    assert few == many, (few, many)


# --- pages in Chinese -------------------------------------------------------------------------------


def test_pages_in_chinese(published_policy, customer, order, in_review):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(customer.user)
    client.cookies["django_language"] = "zh-hans"  # chosen with the switcher: over the customer's own (en)
    html = client.get(f"/portal/requests/{in_review.public_id}/").content.decode()
    assert "退款申请" in html and "您已提交申请" in html
    OrderFactory(customer=customer, external_id="ORD-200")
    apply_html = client.get("/portal/orders/ORD-200/apply/").content.decode()
    assert "最多 5 个文件" in apply_html  # help texts follow the page's language, not the import-time one
    english = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")  # the browser's language does not decide: the customer's does
    english.force_login(customer.user)
    assert "Up to 5 files" in english.get("/portal/orders/ORD-200/apply/").content.decode()
    assert "年" in html  # dates in Chinese (CLDR long format)


def test_opening_an_action_address_goes_back_to_the_request(customer_client, in_review):
    # the language switcher "next" after a form error is the action's address: it must not be a dead end
    response = customer_client.get(f"/portal/requests/{in_review.public_id}/reply/")
    assert response.status_code == 302 and response["Location"] == f"/portal/requests/{in_review.public_id}/"
    assert customer_client.get(f"/portal/requests/{in_review.public_id}/nonsense/").status_code == 404


def _orders(customer, n):
    for _ in range(n):
        UsageFactory(order=OrderFactory(customer=customer))


def test_orders_page_query_count_does_not_grow(published_policy, customer, customer_client):
    _orders(customer, 5)
    customer_client.get("/portal/")  # the policy is compiled once per process: not a query per page
    few, response = _count_queries(customer_client, "/portal/")
    assert response.content.decode().count("/apply/") >= 5
    _orders(customer, 45)
    many, response = _count_queries(customer_client, "/portal/")
    html = response.content.decode()
    assert html.count("Apply for a refund") == 50 and html.count("data-reasons=") >= 50  # each with its preview
    print(f"orders page: {few} queries for 5 orders, {many} for 50")
    assert few == many, (few, many)

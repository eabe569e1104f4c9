"""Observability (issue 21.4): Prometheus metrics at /metrics behind a token or an allow-list, with the business
metrics the issue lists, and JSON logs whose request id follows the work a request queued into the worker."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from refunddesk.notify.models import WebhookDelivery
from refunddesk.refunds import services as rs
from refunddesk.refunds.models import RefundRequest
from tests.core.test_serve import database_url
from tests.factories import OrderFactory
from tests.tasks import run_tasks

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-the-tests-0123456789abcdef"


def samples(body: bytes) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a Prometheus text answer."""
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def scrape(**headers) -> dict:
    r = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}", **headers})
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/plain")
    return samples(r.content)


@pytest.mark.django_db
def test_metrics_are_closed_until_a_token_or_an_allow_list_is_set(settings):
    settings.REFUNDDESK_METRICS_TOKEN = ""
    settings.REFUNDDESK_METRICS_ALLOW = []
    assert Client().get("/metrics").status_code == 404
    settings.REFUNDDESK_METRICS_TOKEN = TOKEN
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    settings.REFUNDDESK_METRICS_TOKEN = ""
    settings.REFUNDDESK_METRICS_ALLOW = ["10.0.0.0/8"]
    assert Client().get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    settings.REFUNDDESK_CLIENT_IP_HEADER = "X-Forwarded-For"  # behind the proxy: the address it saw
    assert Client().get("/metrics", headers={"X-Forwarded-For": "10.9.9.9"}).status_code == 200
    assert Client().get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 403


@pytest.mark.django_db
def test_business_metrics(settings, published_policy, customer, agent):
    settings.REFUNDDESK_METRICS_TOKEN = TOKEN
    requests = []
    for _ in range(4):
        order = OrderFactory(customer=customer)
        requests.append(rs.refund_request_submit(customer=customer, order_number=order.external_id,
                                                 reason="technical_issue"))
    now = timezone.now()
    RefundRequest.objects.filter(pk=requests[0].pk).update(review_due_at=now - dt.timedelta(hours=1))
    RefundRequest.objects.filter(pk=requests[1].pk).update(review_due_at=now + dt.timedelta(hours=2))
    RefundRequest.objects.filter(pk=requests[2].pk).update(review_due_at=now + dt.timedelta(days=5))
    rs.refund_request_approve(public_id=requests[3].public_id, user=agent, amount="30.00", reason="ok",
                              clause="default")
    WebhookDelivery.objects.create(event="service.terminate", event_id="evt-failed-1", payload={},
                                   status=WebhookDelivery.Status.FAILED)

    before = scrape()
    assert before[("refunddesk_requests", (("state", "in_review"),))] == 3
    assert before[("refunddesk_requests", (("state", "refunding"),))] + before[
        ("refunddesk_requests", (("state", "approved"),))] == 1
    assert before[("refunddesk_requests", (("state", "rejected"),))] == 0  # every state, 0 included
    assert before[("refunddesk_review_deadlines", (("state", "missed"),))] == 1
    assert before[("refunddesk_review_deadlines", (("state", "at_risk"),))] == 1
    assert before[("refunddesk_refunds", (("gateway", "sandbox"), ("state", "pending")))] == 1
    assert before[("refunddesk_webhook_deliveries", (("event", "service.terminate"), ("state", "failed")))] == 1
    assert before[("refunddesk_tasks", (("state", "ready"),))] >= 1  # the refund's execution, emails
    assert before[("refunddesk_task_oldest_ready_age_seconds", ())] >= 0
    calls = ("refunddesk_gateway_request_seconds_count", (("gateway", "sandbox"), ("operation", "refund")))
    sent_before = before.get(calls, 0)

    run_tasks()
    after = scrape()
    assert after[("refunddesk_refunds", (("gateway", "sandbox"), ("state", "succeeded")))] == 1
    assert after[calls] == sent_before + 1  # the gateway's answer was timed
    assert after[("refunddesk_tasks", (("state", "ready"),))] == 0
    assert any(name == "django_http_responses_total_by_status_total" for name, _ in after)  # django-prometheus


@pytest.mark.django_db
def test_gateway_errors_are_counted_by_kind(settings, published_policy, customer, agent):
    settings.REFUNDDESK_METRICS_TOKEN = TOKEN
    key = ("refunddesk_gateway_errors_total", (("gateway", "sandbox"), ("kind", "declined"), ("operation", "refund")))
    before = scrape().get(key, 0)
    order = OrderFactory(customer=customer, amount_minor=100013)  # the sandbox declines amounts ending in 0013
    req = rs.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    rs.refund_request_approve(public_id=req.public_id, user=agent, amount="1000.13", reason="ok", clause="default")
    run_tasks()
    assert scrape()[key] == before + 1


@pytest.mark.django_db
def test_refused_webhooks_are_counted(settings):
    settings.REFUNDDESK_METRICS_TOKEN = TOKEN
    key = ("refunddesk_webhooks_refused_total", (("gateway", "wechat_pay"), ("why", "unconfigured")))
    before = scrape().get(key, 0)
    Client().post("/webhooks/wechat_pay/", data=b"{}", content_type="application/json")
    assert scrape()[key] == before + 1


@pytest.mark.django_db(transaction=True)
def test_the_request_id_follows_the_work_into_the_worker(published_policy, customer, order, tmp_path):
    """The id nginx gives a request ($request_id) is answered back, stored with the tasks the request queued,
    and printed on the JSON log lines of the worker that runs them."""
    from django_tasks_db.models import DBTaskResult

    from refunddesk.core.services import access_token_create

    _, token = access_token_create(user=customer.user)
    request_id = "7f3c2a9e41d84b6f9d0e5a1b2c3d4e5f"
    r = Client(headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id}).post(
        "/api/v1/requests", data={"order_number": "ORD-100", "reason": "technical_issue", "description": "x"})
    assert r.status_code == 201 and r["X-Request-ID"] == request_id
    queued = list(DBTaskResult.objects.values_list("task_path", "args_kwargs"))
    assert queued and all(kw["meta"]["request_id"] == request_id for _, kw in queued), queued

    own = Client().get("/healthz/live", headers={"X-Request-ID": "bad id with spaces"})
    assert own["X-Request-ID"] != "bad id with spaces" and len(own["X-Request-ID"]) == 32  # a fresh one

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url(),
           "LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT)}
    worker = subprocess.run([sys.executable, "-m", "refunddesk", "worker", "--batch"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert worker.returncode == 0, worker.stderr[-3000:]
    lines = [json.loads(line) for line in worker.stderr.splitlines() if line.startswith("{")]
    assert lines, worker.stderr[-3000:]
    assert all({"timestamp", "level", "logger", "event"} <= set(line) for line in lines)
    about_tasks = [line for line in lines if line.get("task_id")]
    assert about_tasks and all(line["request_id"] == request_id for line in about_tasks), lines
    assert {line["task"] for line in about_tasks} >= {path for path, _ in queued}
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()

"""/healthz, /healthz/ready and /healthz/live say what an operator needs, and a database outage answers
503 with Retry-After instead of a 500 after 20 s (issue 15.2).

A SQLite write lock is held by a real second connection to this test's database file (WAL: reads go on,
writes wait for the busy timeout, here shortened to 0.3 s for this test's own connection). A database that
refuses connections is a real `refunddesk serve` pointed at a closed port on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from refunddesk.billing.models import Customer
from refunddesk.core.models import WorkerHeartbeat
from refunddesk.core.worker import worker_heartbeat
from refunddesk.notify.tasks import send_email
from tests.core.test_serve import ROOT, Serve, free_port

needs_sqlite = pytest.mark.skipif("os.environ.get('DATABASE_URL', '').startswith('postgres')",
                                  reason="holds a SQLite write lock (PostgreSQL: tests/core/test_db_lock.py)")


@pytest.mark.django_db
def test_liveness_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz/live")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_checks_the_database_reachable_and_writable(client):
    response = client.get("/healthz/ready")
    assert response.status_code == 200
    database = response.json()["checks"]["database"]
    assert database["reachable"] is True and database["writable"] is True
    assert database["vendor"] == connection.vendor
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_report_gives_the_workers_heartbeat_and_the_queue(client):
    worker_heartbeat(worker_id="rd-test-1")
    send_email.enqueue(to="a@example.test", subject="hello", body="hello")
    send_email.enqueue(to="b@example.test", subject="hello", body="hello")
    DBTaskResult.objects.filter(args_kwargs__kwargs__to="a@example.test").update(
        enqueued_at=timezone.now() - dt.timedelta(minutes=10))

    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["writable"] is True
    worker = body["checks"]["worker"]
    assert worker["alive"] == 1 and 0 <= worker["heartbeat_age_seconds"] < 30
    queue = body["checks"]["queue"]
    assert queue["ready"] == 2 and queue["running"] == 0 and queue["scheduled"] == 0
    assert queue["oldest_ready_age_seconds"] >= 600
    assert body["warnings"] == ["the oldest ready task has waited 600 s"]


@pytest.mark.django_db
def test_the_report_warns_when_no_worker_beats_but_the_site_stays_ready(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["warnings"] == ["no worker has ever reported"]
    WorkerHeartbeat.objects.create(worker_id="rd-gone", hostname="elsewhere", pid=1,
                                   seen_at=timezone.now() - dt.timedelta(minutes=2))
    body = client.get("/healthz").json()
    assert body["checks"]["worker"]["alive"] == 0 and body["checks"]["worker"]["heartbeat_age_seconds"] >= 120
    assert body["warnings"] == ["no worker has reported for 120 s (more than 30 s)"]
    assert client.get("/healthz/ready").status_code == 200  # the web serves without a worker


# --- a locked database ------------------------------------------------------------------------------


@pytest.fixture
def short_lock_wait():
    """This test's own connection waits 0.3 s for a lock (the setting's 5 s works the same, only slower)."""
    options = connection.settings_dict["OPTIONS"]
    before = options.get("timeout")
    connection.close()
    options["timeout"] = 0.3
    yield
    connection.close()
    options["timeout"] = before


@contextlib.contextmanager
def sqlite_write_lock():
    """Another connection takes the database's write lock (BEGIN IMMEDIATE) and holds it."""
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, timeout=5)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@needs_sqlite
@pytest.mark.django_db(transaction=True)
def test_readiness_is_503_while_the_database_is_locked(client, short_lock_wait):
    with sqlite_write_lock():
        ready = client.get("/healthz/ready")
        report = client.get("/healthz")
        live = client.get("/healthz/live")
    assert ready.status_code == 503 and ready["Retry-After"].isdigit()
    database = ready.json()["checks"]["database"]
    assert database["reachable"] is True and database["writable"] is False
    assert "locked" in database["error"]
    assert report.status_code == 503 and report.json()["status"] == "unavailable"
    assert live.status_code == 200
    assert client.get("/healthz/ready").status_code == 200  # the lock is gone


@needs_sqlite
@pytest.mark.django_db(transaction=True)
def test_a_write_during_a_lock_answers_503_and_goes_through_when_tried_again(api, customer, short_lock_wait):
    body = json.dumps({"email": "li@example.test", "name": "Li", "region": "cn-east", "language": "zh-hans"})
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    with sqlite_write_lock():
        put = api.put("/api/v1/customers/cus-lock", data=body, content_type="application/json")
        sign_in = zh.post("/accounts/login/", {"login": "cust_a@example.test", "password": "pw-for-tests"})
        read = Client().get("/policy/")  # reads go on beside the lock (WAL)

    assert put.status_code == 503 and put["Retry-After"].isdigit()
    error = put.json()["error"]
    assert error["code"] == "unavailable" and error["field"] is None and "try again" in error["message"]
    assert sign_in.status_code == 503 and sign_in["Retry-After"].isdigit()
    page = sign_in.content.decode()
    assert "暂时不可用" in page and "服务暂时不可用" in page and sign_in["Content-Language"] == "zh-hans"
    assert read.status_code == 200
    assert not Customer.objects.filter(external_id="cus-lock").exists()  # nothing half-written

    again = api.put("/api/v1/customers/cus-lock", data=body, content_type="application/json")
    assert again.status_code == 201, again.content
    assert Customer.objects.filter(external_id="cus-lock").exists()
    assert zh.post("/accounts/login/", {"login": "cust_a@example.test", "password": "pw-for-tests"}).status_code == 302


# --- a database that refuses connections ------------------------------------------------------------


def test_a_database_that_refuses_connections_answers_503_not_500(tmp_path):
    closed = free_port()  # nothing listens there: PostgreSQL is down
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "STATIC_ROOT": str(tmp_path / "static"),
           "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/refunddesk", "PYTHONPATH": str(ROOT),
           "LOG_LEVEL": "WARNING"}
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "refunddesk", "serve", "--no-worker", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    site = Serve(port=port, proc=proc, log=log)
    try:
        end = time.monotonic() + 60
        while site.request("/healthz", timeout=5).status is None and time.monotonic() < end:
            assert proc.poll() is None, site.output()
            time.sleep(0.2)
        page = site.request("/status/", headers={"Accept-Language": "en"})
        assert page.status == 503, (page, site.output())
        assert page.retry_after.isdigit() and b"Briefly unavailable" in page.body
        api = site.request("/api/v1/customers/cus-1", method="PUT", body={"email": "a@example.test"},
                           headers={"Authorization": "Bearer rdk_whatever"})
        assert api.status == 503, (api, site.output())
        assert json.loads(api.body)["error"]["code"] == "unavailable"
        assert site.request("/healthz/live").status == 200
        ready = site.request("/healthz/ready")
        assert ready.status == 503 and ready.retry_after.isdigit()
        assert json.loads(ready.body)["checks"]["database"]["reachable"] is False
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()

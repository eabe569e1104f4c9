"""Several machines at once (issue 21.5): two web nodes on two ports behind a real nginx, three worker processes,
all on one PostgreSQL, one Redis and one S3-compatible object store, under a mixed load through nginx
(submissions with evidence, agent approvals, gateway webhooks, status page reads). Halfway, one web node and one
worker are killed with SIGKILL (a machine losing power).

Checked: every approved request was paid exactly once (the fake Stripe on 127.0.0.1 holds one refund per charge,
for the full amount, and refunddesk agrees), evidence uploaded through node A is readable through node B (and
still through nginx once node A is gone), and no answer was a 500.

PostgreSQL only (SQLite is one file on one machine: skipped with a message), and skipped where nginx or Redis is
missing; .ci/run installs nginx and runs it on PostgreSQL. Bounded: about a minute.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.db import connection
from django.test import Client

from refunddesk.core.services import access_token_create
from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.refunds.models import Evidence, RefundRequest
from refunddesk.refunds.states import Status
from tests.core.test_serve import database_url, serve, stripe_settings
from tests.factories import CustomerFactory, OrderFactory, UserFactory
from tests.payments.conftest import serving
from tests.payments.fakes.stripe_fake import StripeFake
from tests.production.cluster import NGINX, Nginx, kill_tree, start_worker, stop
from tests.production.conftest import free_port, node_dirs
from tests.refunds.test_workflow import PNG

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 24
DEADLINE = 150  # seconds for the whole load to settle; it takes about a minute


class Load:
    """Every HTTP answer the load got, by kind; `call` retries what nginx could not deliver (502/503/504, no
    answer), as a client of a real site does."""

    def __init__(self, base: str):
        self.base = base
        self.answers: list[tuple[str, int | None]] = []
        self.lock = threading.Lock()
        self.session = requests.Session()

    def call(self, kind: str, method: str, path: str, *, tries: int = 6, **kwargs) -> requests.Response | None:
        for attempt in range(tries):
            try:
                response = requests.request(method, self.base + path, timeout=30, **kwargs)
                status = response.status_code
            except requests.RequestException:
                response, status = None, None
            with self.lock:
                self.answers.append((kind, status))
            if status is not None and status not in (502, 503, 504):
                return response
            time.sleep(0.3 * (attempt + 1))
        return response

    def statuses(self) -> Counter:
        return Counter(status for _, status in self.answers)


@pytest.mark.django_db(transaction=True)
def test_two_web_nodes_and_three_workers_behind_nginx_survive_losing_one_of_each(
        published_policy, agent, object_store, redis_url, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the multi-node test needs PostgreSQL (SQLite is one file on one machine): run it with "
                    "DATABASE_URL=postgres://... (.ci/run does)")
    if not NGINX:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run installs it)")

    with serving(StripeFake(refund_status="pending")) as stripe:  # refunds settle by webhook, like a real bank's
        customers = []
        for i in range(CUSTOMERS):
            charge = stripe.add_charge(3000, "cny")
            customer = CustomerFactory(user=UserFactory(username=f"node_customer_{i}"), language="en")
            order = OrderFactory(customer=customer, external_id=f"ORD-NODE-{i:03d}", gateway="stripe",
                                 payment_method="card", gateway_charge_ref=charge.id)
            customers.append((customer, order, charge, access_token_create(user=customer.user)[1]))
        staff_token = access_token_create(user=agent)[1]

        env = {**object_store.env, "CACHE_URL": redis_url, "LOG_LEVEL": "WARNING",
               "REFUNDDESK_CLIENT_IP_HEADER": "X-Forwarded-For"}
        worker_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url(),
                      "REFUNDDESK_GATEWAYS_JSON": json.dumps({"stripe": stripe_settings(stripe.url)}),
                      "REFUNDDESK_REFUND_LEASE_SECONDS": "2", "REFUNDDESK_RECONCILE_SECONDS": "2",
                      "PYTHONPATH": str(ROOT), **env}
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
        with serve(tmp_path / "a", fake_url=stripe.url, args=("--no-worker",),
                   extra_env={**env, **node_dirs(tmp_path, "a")}) as node_a, \
             serve(tmp_path / "b", fake_url=stripe.url, args=("--no-worker",),
                   extra_env={**env, **node_dirs(tmp_path, "b")}) as node_b:
            workers = [start_worker(worker_env, tmp_path / f"worker-{n}.log") for n in range(3)]
            nginx = Nginx(port=free_port(), upstreams=[node_a.port, node_b.port]).start()
            try:
                _run(stripe, customers, staff_token, node_a, node_b, nginx, workers, tmp_path, object_store)
            finally:
                nginx.stop()
                for worker in workers:
                    stop(worker, grace=20)


def _run(stripe, customers, staff_token, node_a, node_b, nginx, workers, tmp_path, object_store) -> None:
    load = Load(nginx.url)
    staff = {"Authorization": f"Bearer {staff_token}"}
    submitted: list[str] = []
    stop_all = threading.Event()
    half = threading.Event()

    # evidence sent through node A is shown by node B (each has a disk of its own: two machines)
    first_customer, _, _, first_token = customers[0]
    sent = requests.post(node_a.url + "/api/v1/requests", headers={"Authorization": f"Bearer {first_token}"},
                         data={"order_number": customers[0][1].external_id, "reason": "technical_issue",
                               "description": "Sent through node A"},
                         files=[("files", ("through-a.png", PNG, "image/png"))], timeout=30)
    assert sent.status_code == 201, sent.text
    submitted.append(sent.json()["id"])
    evidence = Evidence.objects.get(request__public_id=sent.json()["id"])
    portal = Client()
    portal.force_login(first_customer.user)
    session = {"sessionid": portal.cookies["sessionid"].value}
    evidence_path = f"/portal/requests/{sent.json()['id']}/evidence/{evidence.pk}/"
    through_b = requests.get(node_b.url + evidence_path, cookies=session, timeout=30)
    assert through_b.status_code == 200 and through_b.content == PNG, through_b.status_code

    def submissions() -> None:
        for i, (_, order, _, token) in enumerate(customers[1:], start=1):
            if i == len(customers) // 2:
                half.set()
            r = load.call("submit", "POST", "/api/v1/requests", headers={"Authorization": f"Bearer {token}"},
                          data={"order_number": order.external_id, "reason": "technical_issue",
                                "description": f"Request {i}"},
                          files=[("files", (f"screen-{i}.png", PNG, "image/png"))])
            if r is not None and r.status_code == 201:
                submitted.append(r.json()["id"])
            elif r is not None and r.status_code == 409:  # a retry of one that went through before node A died
                submitted.append(RefundRequest.objects.get(order=order).public_id)
            else:
                raise AssertionError(f"submission {i}: {None if r is None else (r.status_code, r.text[:300])}")

    def approvals() -> None:
        while not stop_all.is_set():
            r = load.call("queue", "GET", "/api/v1/staff/queue", headers=staff)
            rows = r.json() if r is not None and r.status_code == 200 else []
            for row in rows:
                if row["status"] != Status.IN_REVIEW:
                    continue
                load.call("approve", "POST", f"/api/v1/staff/requests/{row['id']}/actions", headers=staff,
                          json={"action": "approve", "amount": "30.00", "reason": "Confirmed", "clause": "default"})
            stop_all.wait(0.3)

    def webhooks() -> None:
        delivered: set[str] = set()
        while not stop_all.is_set():
            for refund_id, refund in list(stripe.refunds.items()):
                if refund_id in delivered:
                    continue
                if refund["status"] == "pending":
                    stripe.set_status(refund_id, "succeeded")
                headers, body = stripe.signed_notification(refund_id)
                r = load.call("webhook", "POST", "/webhooks/stripe/", headers=headers, data=body)
                if r is not None and r.status_code == 200:
                    delivered.add(refund_id)  # otherwise Stripe delivers it again
            stop_all.wait(0.3)

    def status_reads() -> None:
        while not stop_all.is_set():
            load.call("status", "GET", "/status/", headers={"Accept-Language": "en"})
            stop_all.wait(0.2)

    threads = [threading.Thread(target=f, daemon=True) for f in (approvals, webhooks, status_reads)]
    submitter = threading.Thread(target=lambda: _keep(submissions, errors), daemon=True)
    errors: list[BaseException] = []
    for thread in [submitter, *threads]:
        thread.start()

    assert half.wait(60), "the submissions did not reach halfway"
    kill_tree(node_a.proc)  # node A's machine goes down: supervisord, gunicorn and its workers
    kill_tree(workers[0])  # and one worker's
    submitter.join(timeout=DEADLINE)
    assert not errors, errors
    assert len(submitted) == len(customers), submitted

    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        paid = Refund.objects.filter(status=RefundStatus.SUCCEEDED).count()
        if paid == len(customers) and RefundRequest.objects.filter(status=Status.REFUNDED).count() == len(customers):
            break
        time.sleep(0.5)
    stop_all.set()
    for thread in threads:
        thread.join(timeout=60)

    states = Counter(RefundRequest.objects.values_list("status", flat=True))
    refunds = Counter(Refund.objects.values_list("status", flat=True))
    logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in tmp_path.glob("*/serve.log")) + nginx.errors()
    assert states == {Status.REFUNDED: len(customers)}, (states, refunds, load.statuses(), logs)
    # paid exactly once: one refund per charge at the gateway, for the full amount, and refunddesk agrees
    assert stripe.refund_count == len(customers), stripe.refunds
    for _customer, order, charge, _ in customers:
        assert charge.refunded == 3000 and len(stripe.refunds_for(charge)) == 1, charge
        order.refresh_from_db()
        assert order.refunded_minor == 3000
    assert Refund.objects.count() == len(customers)
    # evidence sent through node A is still shown, through nginx, now that only node B serves
    again = requests.get(nginx.url + evidence_path, cookies=session, timeout=30)
    assert again.status_code == 200 and again.content == PNG
    assert sorted(object_store.keys()) == sorted(Evidence.objects.values_list("file", flat=True))
    assert Evidence.objects.count() == len(customers)
    # no answer was a 500; nginx answered every request (502s only while node A died, and retried)
    statuses = load.statuses()
    assert statuses[500] == 0 and statuses[None] == 0, (statuses, logs)
    print(f"multi-node load: {len(load.answers)} answers through nginx by status {dict(statuses)}; "
          f"by kind {dict(Counter(kind for kind, _ in load.answers))}")
    kinds = {kind for kind, status in load.answers if status == 200}
    assert {"queue", "approve", "webhook", "status"} <= kinds, load.answers[-20:]


def _keep(func, errors: list) -> None:
    with contextlib.suppress(BaseException):
        try:
            func()
        except BaseException as exc:
            errors.append(exc)
            raise

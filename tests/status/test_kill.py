"""A compensation run killed half-way (SIGKILL, a real process) and run again ends with exactly one
request per affected order.

The command runs in a subprocess against this test's own database (the SQLite file pytest-django
made, or the PostgreSQL test database), with committed data (transaction=True).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.utils import timezone

from refunddesk.billing.models import Customer, Order, Plan, UsageRecord
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import OPEN
from refunddesk.status.models import CompensationItem, CompensationRun, RunStatus
from tests.status.conftest import incident

ROOT = Path(__file__).resolve().parents[2]
N = 1500


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def command(incident_id: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DATABASE_URL": database_url(),
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "refunddesk.cli", "outage", "compensate", str(incident_id), "--batch-size", "25",
         *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def affected_orders(inc) -> list[int]:
    plan = Plan.objects.create(external_id="vpn-monthly", name="Monthly", period_days=30, refund_window_days=7,
                               trial_hours=24, price_minor=3000, currency="CNY")
    customers = Customer.objects.bulk_create(
        [Customer(external_id=f"k{i}", email=f"k{i}@example.test", region="cn-east", language="en")
         for i in range(N)])
    orders = Order.objects.bulk_create(
        [Order(external_id=f"K-{i}", customer=c, plan=plan, amount_minor=3000, currency="CNY",
               purchased_at=inc.started_at - dt.timedelta(days=3), sales_channel="web", payment_method="alipay",
               gateway="sandbox", gateway_charge_ref=f"ch-k{i}") for i, c in enumerate(customers)])
    UsageRecord.objects.bulk_create([UsageRecord(order=o, days_used=3) for o in orders])
    return [o.pk for o in orders]


@pytest.mark.django_db(transaction=True)
def test_killed_half_way_then_run_again_gives_exactly_one_request_per_order(regions, vpn_policy):
    inc = incident(("cn-east",), hours=80, ended_hours_ago=12)
    order_ids = affected_orders(inc)

    proc = command(inc.pk, "--quiet")
    deadline = time.monotonic() + 120
    processed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        run = CompensationRun.objects.filter(incident=inc).first()
        processed = run.processed if run else 0
        if processed >= 200:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    run = CompensationRun.objects.get(incident=inc)
    assert run.status == RunStatus.RUNNING  # it never got to say it stopped
    assert 200 <= run.processed < N, run.processed
    # what was committed is whole: every committed batch has its requests and items, nothing more
    assert CompensationItem.objects.filter(run=run).count() == run.processed
    assert RefundRequest.objects.count() == run.processed
    assert set(CompensationItem.objects.values_list("order_id", flat=True)) == {
        pk for pk in order_ids if pk <= run.last_order_id}

    again = command(inc.pk)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert f"continuing run {run.pk} after {run.processed} orders" in err
    assert f"{N}/{N} (100%)" in err

    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.processed == N and run.attempts == 2
    per_order = list(RefundRequest.objects.values_list("order_id", flat=True))
    assert sorted(per_order) == sorted(order_ids)  # exactly one request per affected order
    assert RefundRequest.objects.filter(status__in=sorted(OPEN)).count() == N
    assert CompensationItem.objects.count() == N
    assert timezone.now() - run.finished_at < dt.timedelta(minutes=5)


@pytest.mark.django_db(transaction=True)
def test_several_processes_share_a_run_and_look_at_each_order_once(regions, vpn_policy):
    inc = incident(("cn-east",), hours=80, ended_hours_ago=12)
    order_ids = affected_orders(inc)
    proc = command(inc.pk, "--workers", "3", "--batch-size", "5")  # small batches: the helpers get to join
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    if connection.vendor != "postgresql":
        assert "--workers needs PostgreSQL" in err  # SQLite writes one transaction at a time: one process
    run = CompensationRun.objects.get(incident=inc)
    assert run.status == RunStatus.DONE and run.processed == N and run.created == N
    if connection.vendor == "postgresql":
        assert run.attempts >= 2  # the helpers worked on it too
    else:
        assert run.attempts == 1
    items = list(CompensationItem.objects.values_list("order_id", flat=True))
    assert sorted(items) == sorted(order_ids)  # each order looked at exactly once
    assert sorted(RefundRequest.objects.values_list("order_id", flat=True)) == sorted(order_ids)

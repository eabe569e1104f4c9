"""A worker killed with SIGKILL at each step of a refund loses nothing and doubles nothing.

Real processes: `refunddesk worker --batch` runs against this test's database and a fake Stripe on
127.0.0.1, and kills itself at a chosen crash point (refunddesk.core.faults). Then a fresh worker
and `refunddesk reconcile` finish the job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.refunds import services as rs
from refunddesk.refunds.states import Status
from tests.factories import OrderFactory
from tests.payments.conftest import serving
from tests.payments.fakes.stripe_fake import API_KEY, WEBHOOK_SECRET, StripeFake

ROOT = Path(__file__).resolve().parents[2]
CRASH_POINTS = ["after_claim", "after_key_stored", "after_gateway_before_commit", "after_commit"]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def refunddesk(*args: str, fake_url: str, crash_at: str = "") -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": database_url(),
        "REFUNDDESK_GATEWAYS_JSON": json.dumps({"stripe": {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET,
                                                           "api_base": fake_url, "timeout": 5}}),
        "REFUNDDESK_CRASH_AT": crash_at,
        "REFUNDDESK_REFUND_LEASE_SECONDS": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.run([sys.executable, "-m", "refunddesk", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_a_killed_worker_loses_and_doubles_nothing(published_policy, customer, agent, crash_at):
    with serving(StripeFake()) as fake:
        charge = fake.add_charge(3000, "cny")
        order = OrderFactory(customer=customer, gateway="stripe", payment_method="card",
                             gateway_charge_ref=charge.id)
        req = rs.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
        rs.refund_request_approve(public_id=req.public_id, user=agent, amount="30.00", reason="ok",
                                  clause="default")

        crashed = refunddesk("worker", "--batch", fake_url=fake.url, crash_at=crash_at)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
        time.sleep(1.2)  # the dead worker's lease on the refund runs out

        again = refunddesk("worker", "--batch", fake_url=fake.url)
        assert again.returncode == 0, again.stderr[-2000:]
        reconciled = refunddesk("reconcile", "--older-than", "0", fake_url=fake.url)
        assert reconciled.returncode == 0, reconciled.stderr[-2000:]

        posts = [r for r in fake.server.requests if r.method == "POST"]
        assert fake.refund_count == 1 and charge.refunded == 3000
        assert len(posts) <= 1 or crash_at == "after_key_stored" and len({p.header("idempotency-key")
                                                                          for p in posts}) == 1
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.SUCCEEDED
    order.refresh_from_db()
    assert order.refunded_minor == 3000
    req.refresh_from_db()
    assert req.status == Status.REFUNDED
    assert req.timeline.filter(action="refund_succeed").count() == 1

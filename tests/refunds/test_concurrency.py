"""Two (or more) simultaneous submissions for the same order leave exactly one open request."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from refunddesk.core.errors import Conflict
from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import OPEN


@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_leave_one_open_request(published_policy, customer, order):
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def submit():
        try:
            barrier.wait(timeout=10)
            s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # anything else is a bug: report it
            outcomes.append(f"error: {type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict"] * 5 + ["ok"], outcomes
    assert RefundRequest.objects.filter(order=order, status__in=OPEN).count() == 1

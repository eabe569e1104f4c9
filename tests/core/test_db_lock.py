"""A database locked for 30 s while requests arrive: every answer is 2xx or 503, none is 500, nothing is
lost, and the worker carries on afterwards without being restarted (issue 15.1 and 15.2).

Real processes: `refunddesk serve` (gunicorn and `refunddesk worker` under supervisord) against this test's
database, a fake Stripe on 127.0.0.1, refunds in flight when the lock is taken. SQLite: another connection
holds the write lock (BEGIN IMMEDIATE; reads go on in WAL mode). PostgreSQL: another connection holds ACCESS
EXCLUSIVE locks on the tables the requests and the worker write, and lock_timeout (DATABASE_LOCK_TIMEOUT)
turns the waits into 503s and retries.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time

import pytest
from django.db import connection

from refunddesk.billing.models import Customer
from refunddesk.core.models import WorkerHeartbeat
from refunddesk.payments.models import Refund
from tests.core.test_serve import (
    Answer,
    Traffic,
    approved_refunds,
    assert_each_refunded_once,
    serve,
    stripe,  # noqa: F401  (fixture)
    wait_for_refunds,
    worker_pid,
)

LOCK_SECONDS = 30


@contextlib.contextmanager
def database_locked():
    """Hold the lock that stops every write the site and the worker make, until the block ends."""
    if connection.vendor == "sqlite":
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, timeout=30)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
        return
    import psycopg
    from django_tasks_db.models import DBTaskResult

    s = connection.settings_dict
    tables = [m._meta.db_table for m in (Customer, Refund, DBTaskResult, WorkerHeartbeat)]
    with psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"] or "postgres",
                         password=s.get("PASSWORD") or None, dbname=s["NAME"], autocommit=False) as other:
        other.execute(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            other.rollback()


class Writer:
    """A thread creating customers through the API, one after the other, until stopped."""

    def __init__(self, site, api_key: str):
        self.site, self.key = site, api_key
        self.answers: list[tuple[str, Answer]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def put(self, external_id: str) -> Answer:
        return self.site.request(f"/api/v1/customers/{external_id}", method="PUT", timeout=30,
                                 headers={"Authorization": f"Bearer {self.key}", "Accept-Language": "en"},
                                 body={"email": f"{external_id}@example.test", "name": "Lock test",
                                       "region": "cn-east", "language": "en"})

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            external_id = f"lock-{i}"
            self.answers.append((external_id, self.put(external_id)))
            i += 1

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_a_database_locked_for_30_s_gives_2xx_or_503_loses_nothing_and_the_worker_carries_on(
        tmp_path, published_policy, customer, agent, api_key, stripe):  # noqa: F811
    fake = stripe
    fake.faults.slow = 0.5  # refunds take a while at the gateway: some are in flight when the lock comes
    with serve(tmp_path, fake_url=fake.url) as site:
        worker = worker_pid()
        paid = approved_refunds(fake, customer, agent, 4)
        end = time.monotonic() + 60
        while fake.refund_count < 1 and time.monotonic() < end:
            time.sleep(0.05)

        with Traffic(site, ["/healthz", "/", "/status/", "/policy/"], pause=0.2) as reads, \
                Writer(site, api_key) as writes, database_locked():
            time.sleep(LOCK_SECONDS)

        answers = reads.answers + [answer for _, answer in writes.answers]
        bad = [a for a in answers if a.status is None or not (200 <= a.status < 300 or a.status == 503)]
        assert not bad, (bad[:5], site.output())
        refused = [(external_id, a) for external_id, a in writes.answers if a.status == 503]
        assert refused, writes.answers  # writes could not pass the lock: they were told to come back
        assert all(a.retry_after.isdigit() for _, a in refused)

        # nothing lost: what was accepted is there, and what was refused goes through when sent again
        accepted = [external_id for external_id, a in writes.answers if 200 <= a.status < 300]
        assert set(accepted) <= set(Customer.objects.values_list("external_id", flat=True))
        for external_id, _ in refused:
            assert not Customer.objects.filter(external_id=external_id).exists()
            assert writes.put(external_id).status == 201
        assert Customer.objects.filter(external_id__startswith="lock-").count() == len(writes.answers)

        # the worker carries on: the refunds in flight finish, new ones go out, and it is the same process
        paid += approved_refunds(fake, customer, agent, 2)
        wait_for_refunds(len(paid), 120, site)
        assert worker_pid() == worker, site.output()
        assert site.request("/healthz/ready").status == 200
        assert site.proc.poll() is None, site.output()
    assert_each_refunded_once(fake, paid)

"""Refunds executed per second through the sandbox gateway, with 1 and 4 worker processes.

    .venv/bin/python bench/payouts.py                  # PostgreSQL on 127.0.0.1 (a throwaway database)
    .venv/bin/python bench/payouts.py --refunds 200    # smaller run
    .venv/bin/python bench/payouts.py --database-url sqlite:////tmp/payouts.sqlite3

Each round queues N approved refunds (sandbox gateway, no delay), starts W `refunddesk worker --batch`
processes and measures until every refund has succeeded. It prints refunds/s and checks that each
refund was sent exactly once (one sandbox record per refund, order totals equal to what was paid).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refunds", type=int, default=1000)
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    created_db = None
    url = args.database_url
    if not url:
        import psycopg

        created_db = f"refunddesk_bench_{os.getpid()}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{created_db}"')
        url = f"postgres://postgres@127.0.0.1:5432/{created_db}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.base",
           "SANDBOX_DELAY_SECONDS": "0", "SANDBOX_DECLINE_ENDINGS": "", "LOG_LEVEL": "ERROR",
           "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend", "DEBUG": "false"}
    os.environ.update(env)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print(f"database: {url.split('@')[-1]}   refunds per round: {args.refunds}")
        print(f"{'workers':>8} {'refunds':>8} {'seconds':>8} {'refunds/s':>10} {'no-op tasks/s':>14} {'ratio':>6}  check")
        for workers in [int(w) for w in args.workers.split(",")]:
            # the ceiling first, then the refunds, in the same minute: as many no-op tasks through the same workers
            ceiling = len(seed_noop(args.refunds)) / run_workers(workers, env)
            ids = seed(args.refunds, tag=f"w{workers}")
            seconds = run_workers(workers, env)
            check = verify(ids)
            rate = len(ids) / seconds
            print(f"{workers:>8} {len(ids):>8} {seconds:>8.2f} {rate:>10.1f} {ceiling:>14.1f} {rate / ceiling:>6.2f}  "
                  f"{check}", flush=True)
        print("no-op tasks/s: a task that does nothing, through the same worker processes (claim, run, record):")
        print("the ceiling for any task. Target: 85 refunds/s per worker.")
    finally:
        from django.db import connections

        connections.close_all()
        if created_db:
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)')
    return 0


def run_workers(workers: int, env: dict) -> float:
    """Start `workers` `refunddesk worker --batch` processes and wait until the queue is empty; seconds taken."""
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "refunddesk", "worker", "--batch", "--interval", "0.05"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(workers)]
    for p in procs:
        _, err = p.communicate(timeout=1800)
        if p.returncode:
            raise SystemExit(err.decode()[-2000:])
    return time.perf_counter() - start


def seed_noop(n: int) -> list[int]:
    from django.db import transaction

    from bench.payout_tasks import noop

    with transaction.atomic():
        return [noop.enqueue(n=i).id for i in range(n)]


def seed(n: int, *, tag: str) -> list[int]:
    from django.db import transaction
    from django.utils import timezone

    from refunddesk.billing.models import Customer, Order, Plan
    from refunddesk.payments.models import Refund
    from refunddesk.payments.tasks import refund_execute

    now = timezone.now()
    with transaction.atomic():
        plan, _ = Plan.objects.get_or_create(external_id="bench", defaults={"name": "bench", "period_days": 30,
                                                                            "refund_window_days": 7})
        customer, _ = Customer.objects.get_or_create(external_id="bench", defaults={"email": "b@example.test",
                                                                                    "region": "cn-east"})
        orders = Order.objects.bulk_create([
            Order(external_id=f"B-{tag}-{i}", customer=customer, plan=plan, amount_minor=3000, currency="CNY",
                  purchased_at=now, sales_channel="web", payment_method="alipay", gateway="sandbox",
                  gateway_charge_ref=f"ch-{tag}-{i}") for i in range(n)])
        refunds = Refund.objects.bulk_create([
            Refund(order=o, amount_minor=3000, currency="CNY", gateway="sandbox", charge_ref=o.gateway_charge_ref,
                   idempotency_key=f"bench-{tag}-{o.pk}") for o in orders])
        for r in refunds:
            refund_execute.enqueue(refund_id=r.pk)
    return [r.pk for r in refunds]


def verify(ids: list[int]) -> str:
    from django.db.models import F

    from refunddesk.billing.models import Order
    from refunddesk.payments.models import Refund, SandboxRecord

    done = Refund.objects.filter(pk__in=ids, status="succeeded").count()
    keys = list(Refund.objects.filter(pk__in=ids).values_list("idempotency_key", flat=True))
    sent = SandboxRecord.objects.filter(key__in=keys).count()
    over = Order.objects.filter(refunds__pk__in=ids).exclude(refunded_minor=F("amount_minor")).count()
    ok = done == len(ids) and sent == len(ids) and over == 0
    return f"{'ok' if ok else 'MISMATCH'}: {done} succeeded, {sent} sent once, {over} orders off"


if __name__ == "__main__":
    sys.exit(main())

"""Outage compensation throughput: orders evaluated and requests created per second.

    .venv/bin/python bench/outage_compensation.py                    # 100,000 orders, SQLite and PostgreSQL
    .venv/bin/python bench/outage_compensation.py --orders 2000      # a quick run
    .venv/bin/python bench/outage_compensation.py --db sqlite        # or --db postgres
    .venv/bin/python bench/outage_compensation.py --follow-up 2000   # also time the worker's part for 2000

Each database is a throwaway one made for the run (a temporary SQLite file; a PostgreSQL
database `refunddesk_bench_<pid>` on $BENCH_PG, default postgres://postgres@127.0.0.1:5432,
created and dropped), migrated, and filled in bulk with a VPN merchant: the shipped
policy (policies/subscription-vpn.yaml), two plans, one customer per order, and an outage
of 73 hours that ended yesterday in the customers' region. About 90% of the affected
orders are approved by the policy's major-outage clause, 3% go to review, 7% are refused;
a tenth of the orders in the database are not affected (another region, the App Store, a
period that ended before the outage). The developer's own database is never touched.

Printed per database: the run's wall time, orders evaluated per second and requests created
per second (`refunddesk outage compensate`, in process, as the command runs it), and with
--follow-up the worker's part (the refunds app moving each request on: email, deadline,
refund hand-over) per second for that many requests, in batches as the run's tasks take them, by
--workers processes; beside it the ratio to the rate the same requests were created at in the same run
(the ceiling) and how long 100,000 would take (target: under 2 minutes with 2 workers).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# --- the child: one database ---------------------------------------------------------------


def _profiled(suffix: str, fn, **kwargs):
    """fn(**kwargs); with BENCH_PROFILE=PATH set, under cProfile, dumped to PATH + suffix (for finding where
    the time goes: `python -m pstats PATH`)."""
    path = os.environ.get("BENCH_PROFILE")
    if not path:
        return fn(**kwargs)
    import cProfile

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(fn, **kwargs)
    finally:
        profiler.dump_stats(path + suffix)


def _child(n: int, batch_size: int, follow_up: int, workers: int = 1) -> dict:
    import datetime as dt
    import random
    from decimal import Decimal

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)
    from refunddesk.billing.models import Customer, Order, Plan, UsageRecord
    from refunddesk.policies.services import policy_publish
    from refunddesk.status import compensation, services
    from refunddesk.status.models import CompensationRun, Region

    now = timezone.now()
    doc = (ROOT / "policies" / "subscription-vpn.yaml").read_text(encoding="utf-8")
    cases = (ROOT / "policies" / "subscription-vpn.cases.yaml").read_text(encoding="utf-8")
    policy_publish(document=doc, cases=cases, effective_at=now - dt.timedelta(days=800))
    Region.objects.bulk_create([Region(code="cn-east", name_en="China East", name_zh="华东"),
                                Region(code="eu-west", name_en="Europe West", name_zh="欧洲西部")])
    monthly = Plan.objects.create(external_id="monthly", name="Monthly", period_days=30, refund_window_days=7,
                                  trial_hours=24, price_minor=3000, currency="CNY")
    yearly = Plan.objects.create(external_id="yearly", name="Yearly", period_days=365, refund_window_days=30,
                                 trial_hours=24, price_minor=29800, currency="CNY")
    started = now - dt.timedelta(days=1, hours=73)
    ended = now - dt.timedelta(days=1)
    incident, _ = services.incident_open(
        title_en="Backbone outage", title_zh="骨干网中断", regions=["cn-east"], severity="outage",
        started_at=started, ended_at=ended, cause="fibre cut", source="bench", now=now)

    rng = random.Random(7)
    extra = n // 9  # unaffected orders beside the n affected ones
    t0 = time.perf_counter()
    step = 20000
    for base in range(0, n + extra, step):
        count = min(step, n + extra - base)
        customers, orders = [], []
        for i in range(base, base + count):
            affected = i < n
            kind = rng.random()
            customers.append(Customer(
                external_id=f"c{i}", email=f"c{i}@bench.test", name=f"Customer {i}",
                region="cn-east" if affected or i % 3 != 2 else "eu-west", language="zh-hans" if i % 2 else "en",
                tos_violation=affected and kind < 0.03))
        Customer.objects.bulk_create(customers, batch_size=2000)
        for c in customers:
            i = int(c.external_id[1:])
            affected = i < n
            kind = rng.random()
            plan = yearly if i % 4 == 0 else monthly
            bought = started - dt.timedelta(days=rng.uniform(0.5, plan.period_days - 1))
            channel = "web"
            if not affected and i % 3 == 0:
                channel = "app_store"
            elif not affected and i % 3 == 1:
                bought = started - dt.timedelta(days=plan.period_days + 5)  # period over before the outage
            orders.append(Order(
                external_id=f"o{i}", customer=c, plan=plan, amount_minor=plan.price_minor, currency="CNY",
                purchased_at=bought, sales_channel=channel, payment_method="alipay" if i % 2 else "card",
                gateway="sandbox", gateway_charge_ref=f"ch{i}", channel_fee_minor=18,
                promotional=affected and 0.03 <= kind < 0.07, refundable=not (affected and 0.03 <= kind < 0.10)))
        Order.objects.bulk_create(orders, batch_size=2000)
        UsageRecord.objects.bulk_create(
            [UsageRecord(order=o, days_used=Decimal(rng.randint(0, 20)), quota_used_ratio=Decimal("0.1"))
             for o in orders if rng.random() < 0.8], batch_size=2000)
    setup_seconds = time.perf_counter() - t0

    run, _ = services.compensation_start(incident_id=incident.pk, source="bench", enqueue=False)
    last = [0.0]

    def progress(r, done, secs):
        if time.monotonic() - last[0] >= 1 or r.processed >= r.total:
            last[0] = time.monotonic()
            sys.stderr.write(f"  {r.processed}/{r.total} ({r.percent}%) {done / secs if secs else 0:.0f}/s\n")

    t0 = time.perf_counter()
    helpers = [  # --workers: more processes on the same run, as `refunddesk outage compensate --workers` starts
        subprocess.Popen([sys.executable, "-m", "refunddesk.cli", "outage", "compensate", str(incident.pk),
                          "--run", str(run.pk), "--batch-size", str(batch_size)], cwd=ROOT)
        for _ in range(workers - 1)]
    _profiled("", compensation.compensation_execute, run_id=run.pk, batch_size=batch_size, progress=progress)
    for helper in helpers:
        helper.wait()
    seconds = time.perf_counter() - t0
    run = CompensationRun.objects.get(pk=run.pk)
    out = {
        "workers": workers,
        "database": f"{connection.vendor} {connection.Database.sqlite_version if connection.vendor == 'sqlite' else connection.pg_version}",
        "orders_in_db": n + extra, "affected": run.total, "setup_seconds": round(setup_seconds, 1),
        "seconds": round(seconds, 2), "processed": run.processed, "created": run.created,
        "approved": run.approved, "review": run.review, "rejected": run.rejected, "skipped": run.skipped,
        "evaluated_per_second": round(run.processed / seconds), "created_per_second": round(run.created / seconds),
    }
    if follow_up:
        ids = compensation.pending_request_ids(run)[:follow_up]
        chunks = [ids[i:i + batch_size] for i in range(0, len(ids), batch_size)]  # as the run's tasks take them
        t0 = time.perf_counter()
        if workers > 1 and len(chunks) > 1:  # W worker processes taking the batches, as W `refunddesk worker`s
            import multiprocessing

            from django.db import connections

            connections.close_all()
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                applied = sum(pool.starmap(_follow_up, [(run.pk, chunk) for chunk in chunks]))
        else:
            applied = _profiled(".follow-up", lambda: sum(_follow_up(run.pk, chunk) for chunk in chunks))
        secs = time.perf_counter() - t0
        out["follow_up"] = applied
        out["follow_up_per_second"] = round(applied / secs) if secs else 0
    return out


def _follow_up(run_id: int, request_ids: list[int]) -> int:
    """One compensation_apply task's work (status.tasks): the follow-up of one batch."""
    from refunddesk.status import compensation

    return compensation.apply_decisions(run_id=run_id, request_ids=request_ids)


# --- the parent: make and drop the databases ------------------------------------------------


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _run_child(database_url: str, var_dir: str, args) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings.base",
           "DEBUG": "0", "REFUNDDESK_VAR_DIR": var_dir, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "--orders", str(args.orders), "--batch-size", str(args.batch_size),
         "--follow-up", str(args.follow_up), "--workers", str(args.workers)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the benchmark failed on {database_url} (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="affected orders (default %(default)s)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--follow-up", type=int, default=0, metavar="K",
                        help="also time the worker's follow-up for K requests")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes sharing the run, as `outage compensate --workers` (PostgreSQL; default 1)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.orders, args.batch_size, args.follow_up, args.workers)))
        return

    results = []
    with tempfile.TemporaryDirectory(prefix="rd-bench-") as tmp:
        if args.db in ("sqlite", "both"):
            print(f"SQLite: {args.orders} affected orders ...", file=sys.stderr)
            results.append(_run_child(f"sqlite:///{tmp}/bench.sqlite3", tmp, argparse.Namespace(**{
                **vars(args), "workers": 1})))  # SQLite writes one transaction at a time
        if args.db in ("postgres", "both"):
            server = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
            name = f"refunddesk_bench_{os.getpid()}"
            url = f"{server}/{name}"
            print(f"PostgreSQL: {args.orders} affected orders in {name} ...", file=sys.stderr)
            _pg_admin(url, f'DROP DATABASE IF EXISTS "{name}"')
            _pg_admin(url, f'CREATE DATABASE "{name}"')
            try:
                results.append(_run_child(url, tmp, args))
            finally:
                _pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print()
    print(f"outage compensation, {args.orders} affected orders, batches of {args.batch_size}")
    for r in results:
        print(f"  {r['database']}, {r['workers']} process(es): {r['processed']} orders evaluated, {r['created']} requests created "
              f"({r['approved']} approved, {r['review']} review; {r['rejected']} refused, {r['skipped']} skipped) "
              f"in {r['seconds']}s")
        print(f"      {r['evaluated_per_second']} orders evaluated/s, {r['created_per_second']} requests created/s"
              f"   (setup of {r['orders_in_db']} orders: {r['setup_seconds']}s)")
        if "follow_up" in r:
            rate = r["follow_up_per_second"]
            ratio = rate / r["created_per_second"] if r["created_per_second"] else float("nan")
            minutes = 100_000 / rate / 60 if rate else float("inf")
            print(f"      worker follow-up (email, deadline, refund hand-over), {r['workers']} process(es): {rate} "
                  f"requests/s over {r['follow_up']}; {ratio:.2f} of the rate the same requests were created at "
                  f"(the ceiling, same run); 100,000 would take {minutes:.1f} min "
                  f"({'target met' if minutes < 2 else 'target: under 2 min with 2 workers'})")


if __name__ == "__main__":
    main()

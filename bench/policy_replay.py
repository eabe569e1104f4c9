"""What-if replay and report pages at scale (issue 20).

    .venv/bin/python bench/policy_replay.py                          # replay 100,000 stored decisions (SQLite)
    .venv/bin/python bench/policy_replay.py --db postgres             # the same on PostgreSQL
    .venv/bin/python bench/policy_replay.py --only reports --requests 1000000   # report queries, PostgreSQL
    .venv/bin/python bench/policy_replay.py --n 5000 --requests 20000           # a quick run of both

Part `replay`: a throwaway database (a temporary SQLite file, or `refunddesk_bench_replay_<pid>` on $BENCH_PG,
default postgres://postgres@127.0.0.1:5432) holds --n requests, each with the facts it was decided on and the
decision of the shipped VPN policy (the fact sets of bench/policy_eval.py, seeded). A draft that tightens the
major-outage clause (72 -> 96 hours) is replayed over all of them in this process (refunds.replay.replay, as the
command and the API run it). Printed beside it, measured in the same run: bench/policy_eval.py's decisions per
second for the same policy (the engine alone, no database) - the ceiling a replay can approach - and the
target (100,000 in under 20 s on one process).

Part `reports`: a throwaway PostgreSQL database filled in SQL (generate_series) with --requests requests, as
many orders and their timeline, a refund for a third of them, over two years; every day has requests of every
plan (4), region (3), sales channel (5) and reason (6), the most daily figures such a merchant can have. The worker's rebuild of the daily
figures the pages read (reports.services.figures_refresh) is timed once; then each report page's queries
(reports.selectors.report_charts, every chart) are timed, warm, median of 3, beside the 300 ms target and the
ceiling measured in the same run: the page's queries times the database's own round trip (SELECT 1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.pgdb import database_drop, database_new  # noqa: E402  (after the path above)

VPN = ROOT / "policies" / "subscription-vpn.yaml"
TARGET_SECONDS = 20.0
TARGET_REPORT_MS = 300.0


def _django(url: str) -> None:
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.base", "LOG_LEVEL": "ERROR",
                       "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- replay -------------------------------------------------------------------------------------------


def draft_text() -> str:
    text = VPN.read_text(encoding="utf-8")
    return text.replace("outage.longest_hours >= 72.0", "outage.longest_hours >= 96.0").replace(
        "version: 5", "version: 6", 1)


def fill_requests(n: int, seed: int) -> None:
    """n requests decided by the shipped VPN policy on bench/policy_eval.py's fact sets, in bulk."""
    import random
    from datetime import datetime

    from django.db import transaction
    from django.utils import timezone

    from bench.policy_eval import random_facts
    from refunddesk.billing.models import Customer, Order, Plan
    from refunddesk.policies import engine
    from refunddesk.policies.services import policy_publish
    from refunddesk.refunds.models import RefundRequest

    version = policy_publish(document=VPN.read_text(encoding="utf-8"),
                             cases=VPN.with_name("subscription-vpn.cases.yaml").read_text(encoding="utf-8"),
                             effective_at=timezone.now() - timezone.timedelta(days=3000), replay={})
    policy = engine.load_policy_text(version.document, "published")
    rng = random.Random(seed)
    plan = Plan.objects.create(external_id="bench", name="bench", period_days=30, refund_window_days=14)
    batch = 5000
    for first in range(0, n, batch):
        size = min(batch, n - first)
        facts = [random_facts(rng) for _ in range(size)]
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                [Customer(external_id=f"c{first + i}", email=f"c{first + i}@example.test", region="cn-east")
                 for i in range(size)])
            orders = Order.objects.bulk_create([
                Order(external_id=f"o{first + i}", customer=customers[i], plan=plan, amount_minor=100,
                      currency=f["order"]["currency"], purchased_at=datetime.fromisoformat(f["order"]["purchased_at"]),
                      sales_channel=f["order"]["sales_channel"], payment_method=f["order"]["payment_method"])
                for i, f in enumerate(facts)])
            rows = []
            for i, f in enumerate(facts):
                try:
                    d = engine.evaluate(policy, f)
                except engine.EvaluationError:
                    continue
                rows.append(RefundRequest(
                    public_id=f"RR-B{first + i:010d}", customer=customers[i], order=orders[i],
                    reason=f["request"]["reason"], currency=f["order"]["currency"], status="submitted",
                    policy_version=version, policy_outcome=d.outcome, policy_clause=d.clause,
                    policy_amount_minor=d.refund.minor if d.refund is not None else None, facts=f,
                    submitted_at=datetime.fromisoformat(f["request"]["submitted_at"])))
            RefundRequest.objects.bulk_create(rows, batch_size=1000)


def part_replay(n: int, db: str, seed: int) -> None:
    name = f"refunddesk_bench_replay_{os.getpid()}"
    tmp = None
    if db == "postgres":
        url = database_new(name)
    else:
        tmp = tempfile.mkdtemp(prefix="refunddesk-replay-")
        url = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        _django(url)
        start = time.perf_counter()
        fill_requests(n, seed)
        filled = time.perf_counter() - start
        from bench.policy_eval import bench_policy
        from refunddesk.policies import engine
        from refunddesk.refunds.models import RefundRequest
        from refunddesk.refunds.replay import replay

        stored = RefundRequest.objects.count()
        draft = engine.load_policy_text(draft_text(), "draft")
        start, start_cpu = time.perf_counter(), time.process_time()
        result = replay(draft)
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        engine_only = bench_policy(VPN, min(n, 50_000), seed)
        print(f"\n== replay: {stored:,} stored decisions of {VPN.name} v5, draft v6 (major outage 72 -> 96 hours), "
              f"{db} (filled in {filled:.0f} s) ==")
        print(f"replay                       {wall:8.2f} s wall  {cpu:8.2f} s CPU  "
              f"{stored / wall:10,.0f} requests/s (wall), {stored / cpu:,.0f} (CPU)")
        print(f"100,000 at this rate         {100_000 / (stored / wall):8.1f} s wall  {100_000 / (stored / cpu):8.1f} s CPU"
              f"   target < {TARGET_SECONDS:.0f} s on one process")
        print(f"policy_eval (engine alone)   {engine_only['per_cpu_second']:10,.0f} decisions/s (CPU), "
              f"{engine_only['per_second']:,.0f} (wall), same run: the ceiling")
        print(f"replay / engine              {stored / cpu / engine_only['per_cpu_second']:.0%} of the engine's rate "
              f"(CPU; the rest: reading the rows and their JSON facts). Wall time counts the database server and "
              f"whatever else the machine runs.")
        print(f"outcome: {result.total:,} replayed, {len(result.changes):,} change, "
              f"{len(result.unevaluable):,} cannot be evaluated; counts before {dict(result.before)}, "
              f"after {dict(result.after)}")
    finally:
        from django.db import connections

        connections.close_all()
        if db == "postgres":
            database_drop(name)


# --- reports -----------------------------------------------------------------------------------------

FILL_SQL = """
INSERT INTO billing_plan (external_id, name, period_days, refund_window_days, trial_hours, refundable, price_minor,
                          currency, created_at, updated_at)
SELECT 'plan-' || g, 'Plan ' || g, 30, 14, 24, true, 3000, 'CNY', now(), now() FROM generate_series(1, 4) g;
INSERT INTO billing_customer (external_id, email, name, region, language, tos_violation, created_at, updated_at)
SELECT 'c' || g, 'c' || g || '@example.test', '', (ARRAY['cn-east','cn-north','us-west'])[1 + g % 3], 'en', false,
       now(), now() FROM generate_series(1, %(customers)s) g;
INSERT INTO billing_order (external_id, customer_id, plan_id, amount_minor, currency, purchased_at, sales_channel,
                           payment_method, gateway, gateway_charge_ref, promotional, refundable, channel_fee_minor,
                           refunded_minor, created_at, updated_at)
SELECT 'o' || g, (SELECT min(id) FROM billing_customer) + g % %(customers)s,
       (SELECT min(id) FROM billing_plan) + (g / 730) % 4, 3000, (ARRAY['CNY','CNY','USD'])[1 + g % 3],
       now() - (g % 730) * interval '1 day' - interval '2 days',
       (ARRAY['web','web','app_store','google_play','reseller'])[1 + (g / 2920) % 5], 'alipay',
       (ARRAY['sandbox','stripe','alipay'])[1 + g % 3], 'ch' || g, false, true, 18,
       CASE WHEN g % 3 = 0 THEN 3000 ELSE 0 END, now(), now()
FROM generate_series(1, %(n)s) g;
INSERT INTO refunds_refundrequest (public_id, customer_id, order_id, reason, description, language, status, currency,
       policy_outcome, policy_clause, policy_explanation, policy_trace, facts, decision_reason, decision_clause,
       override, override_reason, appeal_reason, redirect_instructions, submitted_at, updated_at, review_due_at,
       decided_at, decided_by_id)
SELECT 'RR-' || lpad(o.id::text, 12, '0'), o.customer_id, o.id,
       (ARRAY['technical_issue','service_outage','not_satisfied','duplicate_charge','changed_mind','other'])[1 + (o.id / 14600) % 6],
       '', 'en', (ARRAY['refunded','rejected','in_review','approved','rejected_final'])[1 + o.id % 5], o.currency,
       (ARRAY['approve','reject','review'])[1 + o.id % 3], 'c' || (o.id % 7), '{}', '[]', '{}', '', '',
       o.id % 50 = 0, '', '', '{}', o.purchased_at + interval '1 day', now(),
       CASE WHEN o.id % 3 = 2 THEN o.purchased_at + interval '4 days' END,
       CASE WHEN o.id % 3 = 2 AND o.id % 5 <> 2 THEN o.purchased_at + interval '1 day' + (o.id % 6) * interval '1 day' END,
       CASE WHEN o.id % 3 = 2 AND o.id % 5 <> 2 THEN %(agent)s END
FROM billing_order o;
INSERT INTO refunds_timelineevent (request_id, at, actor_kind, action, from_status, to_status, note, clause, override,
                                   visible_to_customer, data, actor_id)
SELECT r.id, r.submitted_at, 'policy',
       (ARRAY['policy_approve','policy_reject','policy_review'])[1 + r.id % 3], 'submitted', '', '', '', false, true,
       '{}', NULL FROM refunds_refundrequest r;
INSERT INTO refunds_timelineevent (request_id, at, actor_kind, action, from_status, to_status, note, clause, override,
                                   visible_to_customer, data, actor_id)
SELECT r.id, r.decided_at, 'agent', CASE WHEN r.id % 2 = 0 THEN 'approve' ELSE 'reject' END, 'in_review', '', '', '',
       r.override, true, '{}', r.decided_by_id FROM refunds_refundrequest r WHERE r.decided_by_id IS NOT NULL;
INSERT INTO payments_refund (order_id, request_id, origin, amount_minor, currency, gateway, charge_ref,
       idempotency_key, status, gateway_ref, attempts, last_error, failure_reason, created_at, disagreement,
       arrival_by, settled_at, submitted_at)
SELECT r.order_id, r.id, 'refunddesk', 3000, r.currency, o.gateway, o.gateway_charge_ref, 'k' || r.id,
       (ARRAY['succeeded','succeeded','succeeded','pending','failed'])[1 + r.id % 5], 'g' || r.id, 1, '', '',
       r.submitted_at, '', r.submitted_at + interval '7 days',
       CASE WHEN r.id % 5 < 3 THEN r.submitted_at + (r.id % 10) * interval '1 day' END, r.submitted_at
FROM refunds_refundrequest r JOIN billing_order o ON o.id = r.order_id WHERE o.refunded_minor > 0;
ANALYZE;
"""


def part_reports(requests: int, reports: list[str] | None = None) -> None:
    name = f"refunddesk_bench_reports_{os.getpid()}"
    url = database_new(name)
    try:
        _django(url)
        from django.db import connection

        from refunddesk.core.models import User
        from refunddesk.reports.ledger import period_of_days
        from refunddesk.reports.selectors import REPORTS, Filters, report_charts

        agent = User.objects.create(username="bench-agent")
        start = time.perf_counter()
        with connection.cursor() as cur:
            for statement in FILL_SQL.split(";\n"):
                if statement.strip():
                    for key, value in (("n", requests), ("customers", max(1, requests // 3)), ("agent", agent.pk)):
                        statement = statement.replace(f"%({key})s", str(value))
                    cur.execute(statement)
        filled = time.perf_counter() - start
        from django.utils import timezone

        from refunddesk.reports.services import figures_refresh

        rebuilt = figures_refresh()
        today = timezone.localdate()
        print(f"\n== report pages: {requests:,} requests (and orders, timeline events, {requests // 3:,} refunds) "
              f"over two years, PostgreSQL (filled in {filled:.0f} s) ==")
        print(f"the worker's rebuild of the daily figures the pages read (reports.services.figures_refresh): "
              f"{rebuilt.seconds:.1f} s, {rebuilt.rows:,} rows (README \"Reports\": when the worker runs it)")
        from django.test.utils import CaptureQueriesContext

        trips = []
        with connection.cursor() as cur:
            for _ in range(200):
                t = time.perf_counter()
                cur.execute("SELECT 1")
                cur.fetchone()
                trips.append((time.perf_counter() - t) * 1000)
        trip = statistics.median(trips)
        print(f"ceiling, same run: the database's own round trip (SELECT 1, median of 200) {trip:.2f} ms; a page "
              "cannot be faster than its queries' round trips")
        print(f"{'report':<10} {'period':<10} {'filters':<22} {'median ms':>10} {'max ms':>8} {'queries':>8} "
              f"{'round trips ms':>15}   target < {TARGET_REPORT_MS:.0f} ms")
        cases = [("1 year", 365, {}), ("90 days", 90, {}), ("2 years", 730, {}),
                 ("1 year", 365, {"plan": "plan-1", "region": "cn-east", "channel": "web"})]
        for report in reports or REPORTS:
            for label, days, extra in cases:
                first = today - timezone.timedelta(days=days - 1)
                s, e = period_of_days(first, today)
                times = []
                for _ in range(4):
                    t = time.perf_counter()
                    filters = Filters(start=s, end=e, **extra)  # a new one each time, as each page view builds
                    report_charts(report, filters, "en")
                    times.append((time.perf_counter() - t) * 1000)
                warm = times[1:]
                with CaptureQueriesContext(connection) as queries:
                    report_charts(report, Filters(start=s, end=e, **extra), "en")
                shown = ",".join(f"{k}" for k in extra) or "none"
                print(f"{report:<10} {label:<10} {shown:<22} {statistics.median(warm):>10.0f} {max(warm):>8.0f} "
                      f"{len(queries):>8} {len(queries) * trip:>15.2f}")
    finally:
        from django.db import connections

        connections.close_all()
        database_drop(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="stored decisions to replay (default 100000)")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests for the report part")
    parser.add_argument("--only", choices=["replay", "reports"])
    parser.add_argument("--report", action="append", choices=["requests", "handling", "money"],
                        help="time only this report page (repeatable; default: all three)")
    parser.add_argument("--seed", type=int, default=20250310)
    args = parser.parse_args(argv)
    # each part in its own process: one Django set-up per database
    if args.only == "replay":
        part_replay(args.n, args.db, args.seed)
        return 0
    if args.only == "reports":
        part_reports(args.requests, args.report)
        return 0
    import subprocess

    for part, extra in (("replay", ["--n", str(args.n), "--db", args.db]), ("reports", ["--requests",
                                                                                          str(args.requests)])):
        subprocess.run([sys.executable, __file__, "--only", part, "--seed", str(args.seed), *extra], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

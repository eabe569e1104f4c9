"""How refunddesk grows with nodes, on PostgreSQL: the figures behind README's capacity table.

    .venv/bin/python bench/scale.py                       # everything, the sizes the issue names (long)
    .venv/bin/python bench/scale.py --refunds 1000 --submissions 300 --orders 100000   # a shorter run
    .venv/bin/python bench/scale.py --only web            # one part: payouts, web, compensation, queries

Parts (each on a throwaway PostgreSQL database on $BENCH_PG, default postgres://postgres@127.0.0.1:5432):

- payouts: refunds paid per second through the sandbox gateway with 1, 2 and 4 `refunddesk worker` processes
  (bench/payouts.py, which also checks each refund went out once);
- web: refund requests submitted per second through nginx (tests/production/cluster.py: Debian's nginx, run
  unprivileged) in front of 1 and then 2 web nodes (`refunddesk serve --no-worker`, 2 gunicorn processes of 4
  threads each), by 8 clients at once through the API, with a PNG of evidence each; Redis as the cache;
- compensation: outage compensation for --orders affected orders with 1 and 2 processes
  (bench/outage_compensation.py);
- queries: the SQL statements one submission, one approval and one refund's execution take (Django's
  CaptureQueriesContext, in this process), from which README's capacity table is worked out.

Each part prints its rows, then how the figure grows from the smallest to the largest number of nodes. All
processes share this machine: on 2 cores, more processes than cores measure contention, not a second machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.clients import clients_run  # noqa: E402  (after the path above)
from bench.pgdb import PG, database_drop, database_new  # noqa: E402


def _png() -> bytes:
    from tests.refunds.test_workflow import PNG as png

    return png


def _growth(rows: list[tuple[int, float]], unit: str) -> str:
    (n0, v0), (n1, v1) = rows[0], rows[-1]
    return f"  from {n0} to {n1}: {v0:.1f} -> {v1:.1f} {unit} (x{v1 / v0:.2f})" if v0 else ""


def part_payouts(refunds: int) -> None:
    print(f"\n== payouts: {refunds} refunds through the sandbox, PostgreSQL ==", flush=True)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "payouts.py"), "--refunds", str(refunds),
                          "--workers", "1,2,4"], cwd=ROOT, capture_output=True, text=True)
    print(out.stdout + out.stderr[-2000:], flush=True)
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].isdigit():
            rows.append((int(parts[0]), float(parts[3])))
    if rows:
        print(_growth(rows, "refunds/s"))


def _django(url: str) -> None:
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.base", "LOG_LEVEL": "ERROR",
                       "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
                       "SANDBOX_DELAY_SECONDS": "0", "SANDBOX_DECLINE_ENDINGS": ""})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("policy", "publish", str(ROOT / "policies" / "standard-14-day.yaml"),
                 "--effective", "2020-01-01T00:00:00+00:00", verbosity=0)


def _customers(n: int, tag: str) -> list[tuple[str, str]]:
    """n customers with one order each: (order number, API token)."""
    from django.utils import timezone

    from refunddesk.billing.models import Customer, Order, Plan
    from refunddesk.core.models import User
    from refunddesk.core.services import access_token_create

    plan, _ = Plan.objects.get_or_create(external_id="scale", defaults={
        "name": "scale", "period_days": 30, "refund_window_days": 14, "price_minor": 3000, "currency": "USD"})
    out = []
    for i in range(n):
        user = User.objects.create(username=f"scale-{tag}-{i}", email=f"scale-{tag}-{i}@example.test")
        customer = Customer.objects.create(external_id=f"scale-{tag}-{i}", email=user.email, user=user,
                                           region="us", language="en")
        order = Order.objects.create(external_id=f"S-{tag}-{i}", customer=customer, plan=plan, amount_minor=3000,
                                     currency="USD", purchased_at=timezone.now() - timezone.timedelta(days=2),
                                     sales_channel="web", payment_method="card", gateway="sandbox",
                                     gateway_charge_ref=f"ch-{tag}-{i}")
        out.append((order.external_id, access_token_create(user=user)[1]))
    return out


def part_web(submissions: int, clients: int = 8) -> None:
    import shutil

    import requests

    print(f"\n== web: {submissions} submissions through nginx, {clients} clients at once ==", flush=True)
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        print("  nginx is not installed (apt-get install nginx-light): skipped")
        return
    name = f"refunddesk_scale_{os.getpid()}"
    url = database_new(name)
    procs: list[subprocess.Popen] = []
    try:
        _django(url)
        from tests.production.cluster import Nginx, stop  # (imports Django's models: after setup)
        from tests.production.conftest import free_port
        env = {**os.environ, "DATABASE_URL": url, "CACHE_URL": "redis://127.0.0.1:6379/7", "WEB_CONCURRENCY": "2",
               "LOG_LEVEL": "ERROR", "REFUNDDESK_VAR_DIR": f"/tmp/{name}", "STATIC_ROOT": f"/tmp/{name}/static",
               "MEDIA_ROOT": f"/tmp/{name}/media"}
        ports = []
        for _ in range(2):
            port = free_port()
            ports.append(port)
            procs.append(subprocess.Popen([sys.executable, "-m", "refunddesk", "serve", "--no-worker", "--port",
                                           str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        for port in ports:
            end = time.monotonic() + 60
            while time.monotonic() < end:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz/live", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
        png = _png()
        rows = []
        for nodes in (1, 2):
            people = _customers(submissions, tag=f"n{nodes}")
            nginx = Nginx(port=free_port(), upstreams=ports[:nodes]).start()
            statuses: dict[int, int] = {}
            lock = threading.Lock()

            def send(chunk, base=nginx.url, statuses=statuses, lock=lock):
                with requests.Session() as http:
                    for order_number, token in chunk:
                        r = http.post(base + "/api/v1/requests", headers={"Authorization": f"Bearer {token}"},
                                      data={"order_number": order_number, "reason": "technical_issue",
                                            "description": "scale"}, files=[("files", ("s.png", png, "image/png"))],
                                      timeout=60)
                        with lock:
                            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

            seconds = clients_run(send, people, clients)
            nginx.stop()
            rate = submissions / seconds
            rows.append((nodes, rate))
            print(f"  {nodes} web node(s): {submissions} in {seconds:.1f} s = {rate:.1f} submissions/s  "
                  f"answers {statuses}", flush=True)
        print(_growth(rows, "submissions/s"))
    finally:
        from tests.production.cluster import stop

        for proc in procs:
            stop(proc, grace=20)
        from django.db import connections

        connections.close_all()
        database_drop(name)


def part_compensation(orders: int) -> None:
    print(f"\n== compensation: {orders} affected orders, PostgreSQL ==", flush=True)
    rows = []
    for workers in (1, 2):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "outage_compensation.py"), "--db", "postgres",
                              "--orders", str(orders), "--workers", str(workers)], cwd=ROOT, capture_output=True,
                             text=True)
        print(out.stdout[-1500:] + out.stderr[-1500:], flush=True)
        rows.append((workers, orders / (time.perf_counter() - started)))
    print(_growth(rows, "orders/s (wall time of the whole run, seeding included)"))


def part_queries() -> None:
    print("\n== queries: SQL statements per operation, PostgreSQL ==", flush=True)
    name = f"refunddesk_scale_q_{os.getpid()}"
    url = database_new(name)
    try:
        _django(url)
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django_tasks_db.models import DBTaskResult

        from refunddesk.core.models import User
        from refunddesk.refunds import services as rs
        from refunddesk.refunds.models import RefundRequest

        people = _customers(4, tag="q")
        agent = User.objects.create(username="scale-agent", is_staff=True)
        from django.contrib.auth.models import Group

        agent.groups.set(Group.objects.filter(name__in=["agent", "supervisor"]))
        png = _png()
        from django.core.files.uploadedfile import SimpleUploadedFile

        counts = {}
        for n, (order_number, token) in enumerate(people):
            client = Client(headers={"Authorization": f"Bearer {token}"})
            reason = "emergency" if n % 2 else "technical_issue"  # review (then an agent approves) or approved at once
            with CaptureQueriesContext(connection) as q:
                r = client.post("/api/v1/requests", data={
                    "order_number": order_number, "reason": reason, "description": "scale",
                    "files": [SimpleUploadedFile("s.png", png, content_type="image/png")]})
            counts.setdefault(f"submission (API, one evidence file, {reason})", []).append(len(q))
            assert r.status_code == 201, r.content
            req = RefundRequest.objects.get(public_id=r.json()["id"])
            if req.status == "in_review":
                with CaptureQueriesContext(connection) as q:
                    rs.refund_request_approve(public_id=req.public_id, user=agent, amount="30.00", reason="ok",
                                              clause="default")
                counts.setdefault("approval (service)", []).append(len(q))
            from tests.tasks import run_tasks

            rows = list(DBTaskResult.objects.filter(task_path__contains="refund_execute", status="READY"))
            with CaptureQueriesContext(connection) as q:
                run_tasks()
            counts.setdefault(f"follow-up tasks ({len(rows)} refund execution(s), emails, webhooks)", []).append(
                len(q))
        from refunddesk.core.services import api_key_create

        merchant = Client(headers={"Authorization": f"Bearer {api_key_create(name='scale')[1]}"})
        for i in range(3):  # the billing system pushing one new order (its customer exists)
            body = {"customer_id": "scale-q-0", "plan_id": "scale", "amount": "30.00", "currency": "USD",
                    "purchased_at": "2026-11-20T10:00:00+08:00", "sales_channel": "web", "payment_method": "card",
                    "gateway": "sandbox", "gateway_charge_ref": f"ch-put-{i}"}
            with CaptureQueriesContext(connection) as q:
                r = merchant.put(f"/api/v1/orders/PUT-{i}", data=json.dumps(body), content_type="application/json")
            assert r.status_code == 201, r.content
            counts.setdefault("PUT /api/v1/orders/{id} (a new order)", []).append(len(q))
        for what, values in counts.items():
            print(f"  {what}: {values} statements")
    finally:
        from django.db import connections

        connections.close_all()
        database_drop(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refunds", type=int, default=1000)
    parser.add_argument("--submissions", type=int, default=400)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["payouts", "web", "compensation", "queries"])
    args = parser.parse_args()
    parts = {"queries": part_queries, "payouts": lambda: part_payouts(args.refunds),
             "web": lambda: part_web(args.submissions), "compensation": lambda: part_compensation(args.orders)}
    if args.only:
        parts[args.only]()
        return 0
    print(f"bench/scale.py on {os.cpu_count()} cores, PostgreSQL at {PG.split('@')[-1]}", flush=True)
    for name in parts:  # each in a process of its own (Django is set up once per process, on its own database)
        subprocess.run([sys.executable, __file__, "--only", name, "--refunds", str(args.refunds),
                        "--submissions", str(args.submissions), "--orders", str(args.orders)], cwd=ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())

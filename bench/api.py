"""The API routes users wait on, each beside a bare django-ninja endpoint served by the same process.

    .venv/bin/python bench/api.py                              # PostgreSQL (a throwaway database), both parts
    .venv/bin/python bench/api.py --rounds 3 --seconds 1       # shorter
    .venv/bin/python bench/api.py --only inprocess             # one part

The bare endpoint (`GET /bench/bare`, added by bench/api_urls.py) is a django-ninja route that returns a
constant, behind the same middleware, in the same process: what any route costs before it does its own work.
It is the ceiling every figure is printed beside.

Part 1, in process: each route is called through Django's WSGI handler (middleware, router, authentication,
the database; no network, no client), for `--seconds` per route, the routes interleaved, `--rounds` times;
the figure is requests per second of one thread and its ratio to the bare endpoint's in the same round,
the median over the rounds. Target: every read route at least 0.5 of the bare endpoint.

Part 2, over HTTP: gunicorn as `refunddesk serve` runs it (2 workers of 4 threads; --preload), Redis as the
shared cache. (a) A mix of the read routes at a fixed rate (open loop: each request leaves at its planned
moment, late answers do not slow the senders), p50/p99 per rate, the bare endpoint alone at the same rate
beside it. Target: p99 under 50 ms at 300 requests/s. (b) Submissions by 8 clients at once, as fast as
they are answered (one order each, all on one plan), with `pg_stat_activity` sampled every 20 ms for
sessions waiting on a lock. Target: at least 150 submissions/s and no lock waits.

The machine is shared (other processes use the same 2 cores), so single figures are noisy: compare ratios
of the same round, and medians of several rounds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.clients import clients_run  # noqa: E402  (after the path above)
from bench.pgdb import database_drop, database_new  # noqa: E402

READS = ("policy", "evaluate", "status", "list")
TARGET_READ_RATIO = 0.5
TARGET_SUBMISSIONS = 150
TARGET_P99_MS = 50

VPN = ROOT / "policies" / "subscription-vpn.yaml"
FACTS = {
    "now": "2026-03-10T08:00:00Z",
    "request": {"reason": "technical_issue", "submitted_at": "2026-03-10T08:00:00Z"},
    "customer": {"region": "cn-east", "new": False, "tos_violation": False, "refunds_last_year": 0,
                 "refunded_share": 0.0},
    "order": {"id": "ORD-1", "currency": "CNY", "amount": "30.00", "refunded": "0.00",
              "purchased_at": "2026-03-08T08:00:00Z", "sales_channel": "web", "payment_method": "alipay",
              "promotional": False, "refundable": True, "channel_fee": "0.18"},
    "plan": {"id": "vpn-monthly", "period_days": 30, "refund_window_days": 7, "trial_hours": 24},
    "usage": {"days_used": "2.0", "paid_features_used": True, "quota_used_ratio": 0.1,
              "since_request_days": "0", "since_request_quota_ratio": 0.0},
    "support": {"contacted": False, "resolved": False},
    "outage": {"longest_hours": 0.0, "force_majeure": False},
    "charge": {"duplicate": False, "erroneous": False},
}


# --- the database ---------------------------------------------------------------------------------


def _database(url: str) -> tuple[str, str | None]:
    """The database to measure on: `url` as given, else a throwaway one (its name returned, to drop after)."""
    if url:
        return url, None
    name = f"refunddesk_bench_api_{os.getpid()}"
    return database_new(name), name


def _setup(url: str, cache_url: str) -> dict:
    os.environ.update({
        "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.api_settings", "LOG_LEVEL": "ERROR", "DEBUG": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend", "CACHE_URL": cache_url,
        "ALLOWED_HOSTS": "*", "REFUNDDESK_ACCESS_LOG": "false",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("policy", "publish", str(VPN), "--effective", "2020-01-01T00:00:00+00:00", verbosity=0)
    from refunddesk.core.services import api_key_create

    _, key = api_key_create(name="bench")
    reader = _people(1, tag="reader", orders=20)[0]
    _submit_all([reader], limit=12)  # a list of 12 requests to read
    return {"key": key, "reader": reader}


def _people(n: int, *, tag: str, orders: int = 1) -> list[dict]:
    """n customers, each with `orders` orders on one plan (usage recorded) and a personal token."""
    from django.utils import timezone

    from refunddesk.billing.models import Customer, Order, Plan, UsageRecord
    from refunddesk.core.models import User
    from refunddesk.core.services import access_token_create

    plan, _ = Plan.objects.get_or_create(external_id="bench", defaults={
        "name": "bench", "period_days": 30, "refund_window_days": 14, "price_minor": 3000, "currency": "CNY"})
    users = User.objects.bulk_create([User(username=f"b-{tag}-{i}", email=f"b-{tag}-{i}@example.test")
                                      for i in range(n)])
    customers = Customer.objects.bulk_create([
        Customer(external_id=f"b-{tag}-{i}", email=u.email, user=u, region="cn-east", language="en")
        for i, u in enumerate(users)])
    bought = timezone.now() - timezone.timedelta(days=2)
    rows = Order.objects.bulk_create([
        Order(external_id=f"B-{tag}-{i}-{k}", customer=c, plan=plan, amount_minor=3000, currency="CNY",
              purchased_at=bought, sales_channel="web", payment_method="alipay", gateway="sandbox",
              gateway_charge_ref=f"ch-{tag}-{i}-{k}")
        for i, c in enumerate(customers) for k in range(orders)], batch_size=2000)
    UsageRecord.objects.bulk_create([UsageRecord(order=o, days_used=1, quota_used_ratio=0.1) for o in rows],
                                    batch_size=2000)
    return [{"token": access_token_create(user=u)[1], "orders": [f"B-{tag}-{i}-{k}" for k in range(orders)]}
            for i, u in enumerate(users)]


def _submit_all(people: list[dict], limit: int) -> None:
    from refunddesk.billing.models import Order
    from refunddesk.refunds.services import refund_request_submit

    for person in people:
        customer = Order.objects.select_related("customer").get(external_id=person["orders"][0]).customer
        for number in person["orders"][:limit]:
            refund_request_submit(customer=customer, order_number=number, reason="not_satisfied")
        person["orders"] = person["orders"][limit:]


# --- part 1: in process ---------------------------------------------------------------------------


def _calls(ctx: dict) -> dict:
    """route -> a function making one request through the WSGI handler, answering the status code."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    body = json.dumps({"facts": FACTS}).encode()

    def call(method: str, path: str, token: str | None = None, data: bytes = b"",
             ctype: str = "application/json") -> int:
        from io import BytesIO

        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000", "REMOTE_ADDR": "127.0.0.1", "wsgi.input": BytesIO(data), "wsgi.url_scheme": "http",
            "CONTENT_LENGTH": str(len(data)), "CONTENT_TYPE": ctype, "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0), "SERVER_PROTOCOL": "HTTP/1.1",
        }
        if token:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        status = []
        response = handler(environ, lambda s, h, *a: status.append(s))
        for _ in response:
            pass
        response.close()
        return int(status[0][:3])

    key, reader = ctx["key"], ctx["reader"]["token"]
    submitters = _people(400, tag=f"in{time.monotonic_ns()}", orders=8)
    queue = [(p["token"], n) for k in range(8) for p in submitters for n in p["orders"][k:k + 1]]

    def submit() -> int:
        token, number = queue.pop()
        data = f"order_number={number}&reason=technical_issue".encode()
        return call("POST", "/api/v1/requests", token, data, "application/x-www-form-urlencoded")

    return {
        "bare": lambda: call("GET", "/bench/bare"),
        "policy": lambda: call("GET", "/api/v1/policy", key),
        "evaluate": lambda: call("POST", "/api/v1/policy/evaluate", key, body),
        "status": lambda: call("GET", "/status/"),
        "list": lambda: call("GET", "/api/v1/requests", reader),
        "submit": submit,
    }


def part_inprocess(ctx: dict, rounds: int, seconds: float) -> dict:
    print(f"\n== in process: requests/s of one thread, {rounds} interleaved rounds of {seconds:g} s per route ==")
    calls = _calls(ctx)
    for name, fn in calls.items():  # warm: every route answers, caches filled
        status = fn()
        if status >= 400:
            raise SystemExit(f"{name}: HTTP {status}")
    per_round: list[dict[str, float]] = []
    for r in range(rounds):
        got: dict[str, float] = {}
        for name, fn in calls.items():
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                fn()
                n += 1
            got[name] = n / (time.perf_counter() - start)
        per_round.append(got)
        print(f"  round {r + 1}: " + "  ".join(f"{k} {v:,.0f}/s" for k, v in got.items()), flush=True)
    print(f"\n  {'route':<10} {'median/s':>9} {'bare/s':>8} {'ratio (median of rounds)':>25}")
    ratios = {}
    for name in calls:
        ratio = statistics.median(g[name] / g["bare"] for g in per_round)
        ratios[name] = ratio
        mark = "" if name in ("bare", "submit") else ("  ok" if ratio >= TARGET_READ_RATIO else "  BELOW 0.5")
        print(f"  {name:<10} {statistics.median(g[name] for g in per_round):>9,.0f} "
              f"{statistics.median(g['bare'] for g in per_round):>8,.0f} {ratio:>25.3f}{mark}")
    return ratios


def part_profile(ctx: dict, folder: Path, calls_per_route: int = 300) -> None:
    """Where each in-process route's time goes: cProfile of `calls_per_route` calls, the top functions by own
    time (the profile slows everything about twice; read shares, not rates)."""
    import cProfile
    import pstats

    folder.mkdir(parents=True, exist_ok=True)
    print(f"\n== profiles: {calls_per_route} calls per route, top functions by own time ({folder}/<route>.prof) ==")
    for name, fn in _calls(ctx).items():
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(calls_per_route):
            fn()
        profile.disable()
        path = folder / f"{name}.prof"
        profile.dump_stats(path)
        stats = pstats.Stats(str(path))
        total = stats.total_tt
        rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:8]
        print(f"  {name}: {total / calls_per_route * 1000:.2f} ms per call under the profiler")
        for (file, line, func), (_cc, _nc, tt, _ct, _callers) in rows:
            print(f"      {tt / total:5.1%}  {Path(file).name}:{line} {func}")


# --- part 2: over HTTP ------------------------------------------------------------------------------


def _serve(env: dict, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
           "--workers", "2", "--threads", "4", "--preload", "--graceful-timeout", "5"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/bare")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not start: " + proc.stderr.read().decode()[-2000:])


def _open_loop(port: int, requests: list[tuple], rate: float, senders: int = 24) -> list[float]:
    """Send `requests` ((method, path, headers, body)) at `rate`/s; answers' latencies in ms (from the
    planned moment)."""
    start = time.perf_counter() + 0.2
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    next_i = [0]

    def sender():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= len(requests):
                break
            planned = start + i / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            method, path, headers, body = requests[i]
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 599
            took = (time.perf_counter() - planned) * 1000
            with lock:
                latencies.append(took)
                if status >= 400:
                    errors.append(status)
        conn.close()

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print(f"    {len(errors)} errors: {sorted(set(errors))}")
    return latencies


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def part_http(ctx: dict, url: str, cache_url: str, rates: list[int], seconds: float) -> dict:
    import socket

    print("\n== over HTTP: gunicorn, 2 workers x 4 threads, --preload; Redis cache ==")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "CACHE_URL": cache_url}
    proc = _serve(env, port)
    out = {}
    try:
        key, reader = ctx["key"], ctx["reader"]["token"]
        body = json.dumps({"facts": FACTS})
        mix = [
            ("GET", "/api/v1/policy", {"Authorization": f"Bearer {key}"}, None),
            ("POST", "/api/v1/policy/evaluate", {"Authorization": f"Bearer {key}",
                                                 "Content-Type": "application/json"}, body),
            ("GET", "/status/", {}, None),
            ("GET", "/api/v1/requests", {"Authorization": f"Bearer {reader}"}, None),
        ]
        bare = [("GET", "/bench/bare", {}, None)]
        _open_loop(port, (mix + bare) * 40, 100)  # warm-up, not measured: each worker's connections and caches
        print(f"  {'rate/s':>7} {'mix p50 ms':>11} {'mix p99 ms':>11} {'bare p50':>9} {'bare p99':>9}   "
              "(after 200 warm-up requests)")
        for rate in rates:
            n = int(rate * seconds)
            got_bare = _open_loop(port, bare * n, rate)
            got = _open_loop(port, (mix * (n // len(mix) + 1))[:n], rate)
            out[rate] = (_pct(got, 0.5), _pct(got, 0.99))
            flag = "" if rate != 300 else ("  ok" if out[rate][1] < TARGET_P99_MS else f"  ABOVE {TARGET_P99_MS} ms")
            print(f"  {rate:>7} {out[rate][0]:>11.1f} {out[rate][1]:>11.1f} {_pct(got_bare, 0.5):>9.1f} "
                  f"{_pct(got_bare, 0.99):>9.1f}{flag}", flush=True)
        out["submissions"] = _submissions(port)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def _submissions(port: int, clients: int = 8, each: int = 60) -> float:
    import psycopg
    from django.db import connection

    people = _people(clients * each, tag=f"http{time.monotonic_ns()}")  # one plan for all of them
    dsn = connection.get_connection_params()
    waits, samples, stop = [0], [0], threading.Event()

    def sample():
        with psycopg.connect(host=dsn.get("host", "127.0.0.1"), port=dsn.get("port", 5432), user=dsn["user"],
                             dbname=dsn["dbname"], autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute("SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity "
                                   "WHERE datname = current_database()").fetchone()
                waits[0] += row[0]
                samples[0] += 1
                time.sleep(0.02)

    def send(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for person in chunk:
            data = f"order_number={person['orders'][0]}&reason=technical_issue"
            conn.request("POST", "/api/v1/requests", body=data, headers={
                "Authorization": f"Bearer {person['token']}", "Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            response.read()
            statuses[response.status] = statuses.get(response.status, 0) + 1
        conn.close()

    statuses: dict[int, int] = {}
    sampler = threading.Thread(target=sample)
    sampler.start()
    seconds = clients_run(send, people, clients)
    stop.set()
    sampler.join()
    rate = len(people) / seconds
    mark = "ok" if rate >= TARGET_SUBMISSIONS else f"BELOW {TARGET_SUBMISSIONS}"
    print(f"\n  submissions, {clients} clients, one plan: {len(people)} in {seconds:.1f} s = {rate:.1f}/s ({mark}); "
          f"answers {statuses}; sessions waiting on a lock: {waits[0]} in {samples[0]} samples of pg_stat_activity")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rates", default="100,300")
    parser.add_argument("--only", choices=("inprocess", "http"), default=None)
    parser.add_argument("--profile", metavar="DIR", help="also profile 300 calls of each route (cProfile): "
                        "DIR/<route>.prof, and print each route's top functions by own time")
    args = parser.parse_args()
    url, created = _database(args.database_url)
    try:
        ctx = _setup(url, args.cache_url)
        from django.core.cache import cache

        cache.clear()
        print(f"database: {url.split('@')[-1]}   cache: {args.cache_url}   Python {sys.version.split()[0]}")
        if args.only in (None, "inprocess"):
            part_inprocess(ctx, args.rounds, args.seconds)
            if args.profile:
                part_profile(ctx, Path(args.profile))
        if args.only in (None, "http"):
            part_http(ctx, url, args.cache_url, [int(r) for r in args.rates.split(",")], args.seconds * 2)
    finally:
        from django.db import connections

        connections.close_all()
        database_drop(created)
    return 0


if __name__ == "__main__":
    sys.exit(main())

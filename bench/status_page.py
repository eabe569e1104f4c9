"""The public status page with years of history: latency of a fresh render and of a cached page.

    .venv/bin/python bench/status_page.py                        # 3 years, SQLite (a temporary file)
    .venv/bin/python bench/status_page.py --years 5 --requests 2000
    .venv/bin/python bench/status_page.py --database-url postgres://postgres@127.0.0.1:5432/bench_status

A throwaway database is migrated and given 8 regions and `--years` of incidents (about two a
week across the regions, each with three updates, a few force-majeure, one going on now).
Then `/status/` is requested through Django's test client, in process (no network), in both
languages: first with the cache emptied before every request (what the first visitor after a
change pays), then from the cache (everyone else). Printed: requests/s and latency p50, p95,
p99 for each, and the database queries of a fresh render. The developer's database is never
touched (with --database-url, give a database you can throw away).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGIONS = [("cn-east", "China East", "华东"), ("cn-south", "China South", "华南"), ("cn-north", "China North", "华北"),
           ("hk", "Hong Kong", "香港"), ("sg", "Singapore", "新加坡"), ("jp", "Japan", "日本"),
           ("us-west", "US West", "美国西部"), ("eu-central", "Central Europe", "欧洲中部")]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _child(years: int, requests: int) -> None:
    import django

    django.setup()
    import datetime as dt

    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from refunddesk.status import services
    from refunddesk.status.models import Incident, IncidentUpdate
    from refunddesk.status.views import board_html

    call_command("migrate", verbosity=0, interactive=False)
    for position, (code, en, zh) in enumerate(REGIONS):
        services.region_upsert(code=code, name_en=en, name_zh=zh, position=position)
    rng = random.Random(2026)
    now = timezone.now()
    t0 = time.perf_counter()
    count = years * 104
    for n in range(count):
        start = now - dt.timedelta(days=years * 365) + dt.timedelta(hours=rng.uniform(0, years * 365 * 24 - 100))
        hours = rng.choice([0.5, 1, 2, 3, 6, 12, 30, 80])
        regions = [code for code, _, _ in rng.sample(REGIONS, rng.choice([1, 1, 2, 3]))]
        incident, _ = services.incident_open(
            title_en=f"Incident {n}", title_zh=f"事件 {n}", regions=regions,
            severity=rng.choice(["degraded", "outage"]), cause="bench", force_majeure=rng.random() < 0.05,
            force_majeure_note="storm", started_at=start, ended_at=start + dt.timedelta(hours=hours),
            message_en="Investigating.", message_zh="正在调查。", source="bench", now=now)
        services.incident_update(incident_id=incident.pk, message_en="Fix deployed.", message_zh="已修复。",
                                 source="bench", now=now)
    services.incident_open(title_en="Going on now", title_zh="正在发生", regions=["cn-east"], severity="degraded",
                           started_at=now - dt.timedelta(hours=2), message_en="Slow.", message_zh="缓慢。",
                           source="bench", now=now)
    setup = time.perf_counter() - t0

    client = Client()
    languages = ["en", "zh-hans"]
    for lang in languages:  # warm up: templates, translations, connections
        client.get("/status/", HTTP_ACCEPT_LANGUAGE=lang)
    response = client.get("/status/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.status_code
    cache.clear()
    queries: list[str] = []
    with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
        board_html("en")
    if os.environ.get("BENCH_PROFILE"):  # a cProfile dump of fresh renders, for finding where the time goes
        import cProfile

        def renders():
            for _ in range(20):
                cache.clear()
                board_html("en")

        cProfile.runctx("renders()", globals(), locals(), os.environ["BENCH_PROFILE"])

    def measure(fresh: bool) -> list[float]:
        times = []
        for i in range(requests):
            if fresh:
                cache.clear()
            start = time.perf_counter()
            r = client.get("/status/", HTTP_ACCEPT_LANGUAGE=languages[i % 2])
            times.append(time.perf_counter() - start)
            assert r.status_code == 200
        return times

    fresh_times = measure(True)
    cached_times = measure(False)
    print(f"database: {connection.vendor}; {Incident.objects.count()} incidents with "
          f"{IncidentUpdate.objects.count()} updates over {years} years in {len(REGIONS)} regions "
          f"(set up in {setup:.1f}s); page {len(response.content) // 1024} KiB")
    print(f"a fresh render makes {len(queries)} database queries")
    print(f"{'':8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, times in (("fresh", fresh_times), ("cached", cached_times)):
        print(f"{name:8} {len(times):>9} {len(times) / sum(times):>8.0f} "
              f"{statistics.median(times) * 1000:>8.2f} {_percentile(times, 0.95) * 1000:>8.2f} "
              f"{_percentile(times, 0.99) * 1000:>8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--requests", type=int, default=500, help="requests per measurement (default %(default)s)")
    parser.add_argument("--database-url", default="", help="a throwaway database (default: a temporary SQLite file)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.years, args.requests)
        return 0
    with tempfile.TemporaryDirectory(prefix="rd-status-bench-") as tmp:
        env = {**os.environ, "DATABASE_URL": args.database_url or f"sqlite:///{tmp}/bench.sqlite3",
               "DJANGO_SETTINGS_MODULE": "config.settings.base", "DEBUG": "0", "LOG_LEVEL": "WARNING",
               "CACHE_URL": "locmem://", "REFUNDDESK_VAR_DIR": tmp, "PYTHONPATH": str(ROOT),
               "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost"}
        return subprocess.run([sys.executable, __file__, "--child", "--years", str(args.years), "--requests",
                               str(args.requests)], env=env, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())

"""Prometheus metrics at /metrics: what every process counts, and the business's state read at scrape time.

Two kinds, in one answer (the Prometheus text format, prometheus_client's `generate_latest`):

- **counted in the processes** (prometheus_client Counters and Histograms): django-prometheus's requests by
  view, method and status and their latency; the apps' own, such as a gateway's latency and errors
  (refunddesk.payments.metrics). When several processes serve one machine (`refunddesk serve`: gunicorn's
  workers and the worker), PROMETHEUS_MULTIPROC_DIR names a folder they all write to, and /metrics adds them
  up (prometheus_client's multiprocess mode); `refunddesk serve` sets it to a fresh folder of its own;
- **read from the database when scraped** (gauges registered by the apps: `gauge_register`): requests by
  state, review deadlines at risk and missed, refunds by gateway and state, the queue's depth and oldest ready
  task, failed outbound webhooks. Every web node answers the same, whichever node Prometheus asks.

Access (`metrics_access`): closed (404) unless REFUNDDESK_METRICS_TOKEN (Prometheus sends it as
`Authorization: Bearer ...`) or REFUNDDESK_METRICS_ALLOW (addresses and networks, comma-separated, of the
client as refunddesk.core.auth.client_ip sees it) is set; with both, either lets a scraper in.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import os
from collections.abc import Callable, Iterable

from django.conf import settings
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

#: name -> a function of `now` giving metric families read from the database at scrape time.
GAUGES: dict[str, Callable[[dt.datetime], Iterable[Metric]]] = {}


def gauge_register(name: str, read: Callable[[dt.datetime], Iterable[Metric]]) -> None:
    """Add (or replace, by `name`) metric families read when /metrics is scraped. `read(now)` yields
    prometheus_client metric families (GaugeMetricFamily...); it may query the database (a few aggregate
    queries: it runs on every scrape, by default every 15 to 60 s)."""
    GAUGES[name] = read


def gauge(name: str, documentation: str, labels: list[str], rows: Iterable[tuple[tuple[str, ...], float]]):
    """A GaugeMetricFamily `name` with one sample per (label values, value) in `rows`."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for values, value in rows:
        family.add_metric(list(values), value)
    return family


class _BusinessCollector:
    """The registered gauges, as a prometheus_client collector."""

    def collect(self) -> Iterable[Metric]:
        now = timezone.now()
        for read in list(GAUGES.values()):
            yield from read(now)


def _queue_gauges(now: dt.datetime) -> Iterable[Metric]:
    from refunddesk.core.health import queue_check, worker_check

    queue = queue_check(now=now)
    yield gauge("refunddesk_tasks", "Background tasks by state (ready: due now; scheduled: later; running).",
                ["state"], [((state,), queue[state]) for state in ("ready", "scheduled", "running")])
    yield gauge("refunddesk_task_oldest_ready_age_seconds",
                "How long the oldest task that is due has waited, in seconds (0 when none waits).", [],
                [((), queue["oldest_ready_age_seconds"] or 0.0)])
    workers = worker_check(now=now)
    yield gauge("refunddesk_workers_alive", "Workers whose heartbeat is recent.", [], [((), workers["alive"])])


gauge_register("queue", _queue_gauges)


def exposition() -> tuple[bytes, str]:
    """(body, content type) of a scrape: the processes' counters (all of this machine's processes in
    multiprocess mode) followed by the registered gauges. Raises django.db errors (the database is down:
    the middleware answers 503)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    business = CollectorRegistry(auto_describe=False)
    business.register(_BusinessCollector())
    return generate_latest(processes) + generate_latest(business), CONTENT_TYPE_LATEST


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item, strict=False) for item in settings.REFUNDDESK_METRICS_ALLOW]


def metrics_access(*, authorization: str, client_address: str | None) -> int:
    """The HTTP status for a scrape: 200 allowed, 401 a token is configured and this is not it (and the
    address is not allowed), 403 only an allow-list is configured and the address is not on it, 404 nothing
    is configured (metrics are closed). The token is compared in constant time."""
    token = settings.REFUNDDESK_METRICS_TOKEN
    networks = _allowed_networks()
    if not token and not networks:
        return 404
    if token:
        sent = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
        if sent and hmac.compare_digest(sent.encode(), token.encode()):
            return 200
    if networks and client_address:
        try:
            address = ipaddress.ip_address(client_address)
        except ValueError:
            address = None
        if address is not None and any(address in network for network in networks):
            return 200
    return 401 if token else 403

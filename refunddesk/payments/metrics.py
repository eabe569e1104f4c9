"""Money's metrics at /metrics (refunddesk.core.metrics): refunds by gateway and state (read from the database
when scraped), and what the processes that talk to gateways and receive their webhooks count."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

from django.db.models import Count
from prometheus_client import Counter, Histogram

from refunddesk.core.metrics import gauge
from refunddesk.payments.gateways.errors import Ambiguous, Declined, Retryable
from refunddesk.payments.models import Refund

GATEWAY_SECONDS = Histogram(
    "refunddesk_gateway_request_seconds", "Time a gateway took to answer, in seconds, by gateway and operation.",
    ["gateway", "operation"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
GATEWAY_ERRORS = Counter(
    "refunddesk_gateway_errors_total",
    "Gateway calls that did not give an answer, by gateway, operation and kind (retryable, declined, ambiguous, "
    "other).", ["gateway", "operation", "kind"])
WEBHOOKS_REFUSED = Counter(
    "refunddesk_webhooks_refused_total",
    "Gateway webhooks not applied, by gateway and why (rejected: signature or age; unconfigured; database: to be "
    "sent again).", ["gateway", "why"])


def _kind(exc: BaseException) -> str:
    for cls, name in ((Retryable, "retryable"), (Declined, "declined"), (Ambiguous, "ambiguous")):
        if isinstance(exc, cls):
            return name
    return "other"


class Measured:
    """A gateway whose refund, fetch and list_refunds calls are timed (GATEWAY_SECONDS) and whose errors are
    counted (GATEWAY_ERRORS); anything else is the gateway's own (attributes, parse_webhook...)."""

    OPERATIONS = ("refund", "fetch", "list_refunds")

    def __init__(self, gateway_id: str, gateway):
        self._id, self._gateway = gateway_id, gateway

    def __getattr__(self, name: str):
        attribute = getattr(self._gateway, name)
        if name not in self.OPERATIONS:
            return attribute

        def measured(*args, **kwargs):
            started = time.monotonic()
            try:
                return attribute(*args, **kwargs)
            except Exception as exc:
                GATEWAY_ERRORS.labels(self._id, name, _kind(exc)).inc()
                raise
            finally:
                GATEWAY_SECONDS.labels(self._id, name).observe(time.monotonic() - started)

        return measured


def refund_gauges(now: dt.datetime) -> Iterable:
    """refunddesk_refunds{gateway, state}: refunds by gateway and state. One query."""
    rows = Refund.objects.order_by().values_list("gateway", "status").annotate(n=Count("pk"))
    yield gauge("refunddesk_refunds", "Refunds by gateway and state.", ["gateway", "state"],
                [((gateway, status), n) for gateway, status, n in rows])

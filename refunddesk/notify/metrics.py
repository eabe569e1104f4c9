"""Outbound webhooks' gauges at /metrics (refunddesk.core.metrics), read from the database when scraped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count

from refunddesk.core.metrics import gauge
from refunddesk.notify.models import WebhookDelivery


def webhook_gauges(now: dt.datetime) -> Iterable:
    """refunddesk_webhook_deliveries{event, state}: webhooks to the merchant's product by state (failed: every
    attempt failed; pending: not delivered yet). One query."""
    rows = (WebhookDelivery.objects.order_by().values_list("event", "status").annotate(n=Count("pk")))
    yield gauge("refunddesk_webhook_deliveries", "Webhooks to the merchant's product by event and state.",
                ["event", "state"], [((event, status), n) for event, status, n in rows])

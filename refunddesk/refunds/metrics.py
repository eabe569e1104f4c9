"""The refund requests' gauges at /metrics (refunddesk.core.metrics), read from the database when scraped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count, Q

from refunddesk.core.metrics import gauge
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import REVIEW_CLOCK, Status


def request_gauges(now: dt.datetime) -> Iterable:
    """refunddesk_requests{state}: requests in each state (every state, 0 included); refunddesk_review_deadlines
    {state}: requests waiting on the review clock whose deadline has passed ("missed") or falls within
    REFUNDDESK_DEADLINE_AT_RISK_HOURS ("at_risk"). Two queries."""
    counts = dict(RefundRequest.objects.order_by().values_list("status").annotate(n=Count("pk")))
    yield gauge("refunddesk_requests", "Refund requests by state.", ["state"],
                [((state,), counts.get(state, 0)) for state in Status.values])
    soon = now + dt.timedelta(hours=settings.REFUNDDESK_DEADLINE_AT_RISK_HOURS)
    clock = RefundRequest.objects.filter(status__in=REVIEW_CLOCK, review_due_at__isnull=False)
    deadlines = clock.aggregate(missed=Count("pk", filter=Q(review_due_at__lt=now)),
                                at_risk=Count("pk", filter=Q(review_due_at__gte=now, review_due_at__lt=soon)))
    yield gauge("refunddesk_review_deadlines",
                "Requests waiting for a review whose deadline has passed (missed) or is near (at_risk: within "
                "REFUNDDESK_DEADLINE_AT_RISK_HOURS).", ["state"],
                [(("missed",), deadlines["missed"]), (("at_risk",), deadlines["at_risk"])])

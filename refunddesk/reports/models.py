"""The reports' daily figures: what the report pages read, so that a page is a few small GROUP BYs over
at most a few hundred thousand narrow rows instead of joins over millions of requests (issue 20: report pages
under 300 ms at 1,000,000 requests).

They are derived data, rebuilt whole from the requests, orders, refunds, timeline and compensations by
`reports.services.figures_refresh` (a periodic job of the worker, `refunddesk reports refresh`, or the
"Refresh now" button). Every row is one day (the merchant's time zone) of one plan, customer region and
sales channel; a report's filters are WHERE clauses on those four columns.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class DailyRequestFigure(models.Model):
    """Counts of one day, plan, region, sales channel and request reason ("" for orders and refunds).

    * requests, granted, deadline_*, appeals*: of the requests submitted that day;
    * at_once, by_people: the policy's first move made that day (approve/reject/redirect; review);
    * orders: bought that day; refunds: refunds that succeeded (and stand), created that day.
    """

    day = models.DateField()
    plan = models.CharField(max_length=100)
    region = models.CharField(max_length=32)
    channel = models.CharField(max_length=20)
    reason = models.CharField(max_length=30, blank=True)
    requests = models.PositiveIntegerField(default=0)
    granted = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    refunds = models.PositiveIntegerField(default=0)
    at_once = models.PositiveIntegerField(default=0)
    by_people = models.PositiveIntegerField(default=0)
    deadline_kept = models.PositiveIntegerField(default=0)
    deadline_late = models.PositiveIntegerField(default=0)
    deadline_overdue = models.PositiveIntegerField(default=0)
    deadline_running = models.PositiveIntegerField(default=0)
    appeals = models.PositiveIntegerField(default=0)
    appeals_upheld = models.PositiveIntegerField(default=0)
    appeals_rejected = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="reports_request_figure_day")]


class Measure(models.TextChoices):
    """What a DailyFigure row counts, and what its key is."""

    REFUNDED = "refunded", "refunds that succeeded; key currency:gateway; amount_minor their sum"
    ARRIVAL_ON_TIME = "arrival_on_time", "settled by the arrival estimate; key gateway"
    ARRIVAL_LATE = "arrival_late", "settled after the arrival estimate; key gateway"
    ARRIVAL_OVERDUE = "arrival_overdue", "past the estimate, not settled; key gateway"
    DECISION_DAYS = "decision_days", "decided by people after key business days ('' unknown: no calendar)"
    DECISIONS = "decisions", "decisions a person made; key the user's id"
    OVERRIDES = "overrides", "of which overrides of the policy; key the user's id"
    COMPENSATION = "compensation", "orders a compensation looked at; key incident id:outcome"


class DailyFigure(models.Model):
    """One measure (Measure) of one day, plan, region and sales channel, per key: the figures that are
    grouped by something other than the request's reason (gateway, agent, incident, business days)."""

    day = models.DateField()
    plan = models.CharField(max_length=100)
    region = models.CharField(max_length=32)
    channel = models.CharField(max_length=20)
    measure = models.CharField(max_length=20, choices=Measure.choices)
    key = models.CharField(max_length=60, blank=True)
    n = models.PositiveIntegerField(default=0)
    amount_minor = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["measure", "day"], name="reports_figure_measure_day")]


class FiguresRefresh(models.Model):
    """One rebuild of the daily figures: what the report pages say their figures are as of."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(default=0)  # how long the rebuild took (not money: a duration)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        get_latest_by = "finished_at"

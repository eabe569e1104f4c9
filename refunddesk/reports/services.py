"""Writes of the reports: rebuilding the daily figures (reports.models) that the report pages read.

`figures_refresh` reads the requests, orders, refunds, timeline and compensations in GROUP BY queries (never a
row per request into Python) and replaces every figure in one transaction, so a page sees the old figures or
the new ones, never half. The worker's periodic job "reports-figures" queues it (the task
`reports.tasks.figures_refresh`) when `figures_refresh_due`: every minute on a small installation, at most every
REFUNDDESK_REPORTS_REFRESH_SECONDS on a large one; `refunddesk reports refresh` runs it at once, and so does a
supervisor's "Refresh now" on a report page.
Figures that depend on the moment (a review deadline passed with no decision yet; a refund past its arrival
estimate) are those of the moment of the rebuild, which the pages show.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from refunddesk.billing.models import Order
from refunddesk.core.errors import ApplicationError
from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.refunds.facts import GRANTED
from refunddesk.refunds.models import RefundRequest, TimelineEvent
from refunddesk.reports.models import DailyFigure, DailyRequestFigure, FiguresRefresh, Measure
from refunddesk.status.models import CompensationItem

log = logging.getLogger(__name__)

#: Statuses in which a request waits for a person (a review deadline can pass in them).
WAITING = ("in_review", "waiting_for_customer", "offered", "declined", "appealed")
POLICY_AT_ONCE = ("policy_approve", "policy_reject", "policy_redirect")
DECISIONS = ("approve", "reject", "offer", "appeal_approve", "appeal_reject")
BATCH = 5000


def _dims(prefix_order: str, prefix_customer: str) -> dict:
    """The four dimensions of a figure as annotations, for a model reaching order and customer by these paths."""
    return {"p": F(f"{prefix_order}plan__external_id"), "r": F(f"{prefix_customer}region"),
            "c": F(f"{prefix_order}sales_channel")}


DIMENSIONS = ("d", "p", "r", "c", "reason")


def _key(row: dict) -> tuple:
    return (row["d"], row["p"] or "", row["r"] or "", row["c"] or "")


def _request_figures(now: dt.datetime) -> dict[tuple, dict[str, int]]:
    """{(day, plan, region, channel, reason): {column: count}} for DailyRequestFigure."""
    out: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    decided = Q(decided_at__isnull=False)
    requests = (RefundRequest.objects.annotate(d=TruncDate("submitted_at"), **_dims("order__", "customer__"))
                .order_by().values("d", "p", "r", "c", "reason").annotate(
                    requests=Count("id"), granted=Count("id", filter=Q(status__in=GRANTED)),
                    deadline_kept=Count("id", filter=Q(review_due_at__isnull=False) & decided
                                        & Q(decided_at__lte=F("review_due_at"))),
                    deadline_late=Count("id", filter=Q(review_due_at__isnull=False) & decided
                                        & Q(decided_at__gt=F("review_due_at"))),
                    deadline_overdue=Count("id", filter=Q(decided_at__isnull=True, review_due_at__lt=now,
                                                          status__in=WAITING)),
                    deadline_running=Count("id", filter=Q(decided_at__isnull=True, review_due_at__gte=now))))
    events = (TimelineEvent.objects.filter(action__in=(*POLICY_AT_ONCE, "policy_review"))
              .annotate(d=TruncDate("at"), reason=F("request__reason"), **_dims("request__order__", "request__customer__"))
              .order_by().values("d", "p", "r", "c", "reason").annotate(
                  at_once=Count("id", filter=Q(action__in=POLICY_AT_ONCE)),
                  by_people=Count("id", filter=Q(action="policy_review"))))
    appeals = (TimelineEvent.objects.filter(action__in=("appeal", "appeal_approve", "appeal_reject"))
               .annotate(d=TruncDate("request__submitted_at"), reason=F("request__reason"),
                         **_dims("request__order__", "request__customer__"))
               .order_by().values("d", "p", "r", "c", "reason").annotate(
                   appeals=Count("id", filter=Q(action="appeal")),
                   appeals_upheld=Count("id", filter=Q(action="appeal_approve")),
                   appeals_rejected=Count("id", filter=Q(action="appeal_reject"))))
    orders = (Order.objects.annotate(d=TruncDate("purchased_at"), **_dims("", "customer__"))
              .order_by().values("d", "p", "r", "c").annotate(orders=Count("id")))
    refunds = (Refund.objects.filter(status=RefundStatus.SUCCEEDED)
               .annotate(d=TruncDate("created_at"), **_dims("order__", "order__customer__"))
               .order_by().values("d", "p", "r", "c").annotate(refunds=Count("id")))
    for rows in (requests, events, appeals, orders, refunds):  # each adds its own columns to the cells
        for row in rows:
            cell = out[(*_key(row), row.get("reason", ""))]
            for column, value in row.items():
                if column not in DIMENSIONS:
                    cell[column] += value
    return out


def _figures(now: dt.datetime) -> dict[tuple, int | list[int]]:
    """{(day, plan, region, channel, measure, key): n or [n, amount_minor]} for DailyFigure."""
    out: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    succeeded = Refund.objects.filter(status=RefundStatus.SUCCEEDED).annotate(
        d=TruncDate("created_at"), **_dims("order__", "order__customer__"))
    for row in succeeded.order_by().values("d", "p", "r", "c", "currency", "gateway").annotate(
            n=Count("id"), total=Sum("amount_minor")):
        cell = out[(*_key(row), Measure.REFUNDED, f"{row['currency']}:{row['gateway']}")]
        cell[0] += row["n"]
        cell[1] += row["total"] or 0
    arrival = (Refund.objects.filter(arrival_by__isnull=False)
               .annotate(d=TruncDate("created_at"), **_dims("order__", "order__customer__"))
               .order_by().values("d", "p", "r", "c", "gateway").annotate(
                   on_time=Count("id", filter=Q(status=RefundStatus.SUCCEEDED, settled_at__lte=F("arrival_by"))),
                   late=Count("id", filter=Q(status=RefundStatus.SUCCEEDED, settled_at__gt=F("arrival_by"))),
                   overdue=Count("id", filter=Q(status__in=(RefundStatus.PENDING, RefundStatus.SUBMITTED),
                                                arrival_by__lt=now))))
    for row in arrival:
        for measure, column in ((Measure.ARRIVAL_ON_TIME, "on_time"), (Measure.ARRIVAL_LATE, "late"),
                                (Measure.ARRIVAL_OVERDUE, "overdue")):
            if row[column]:
                out[(*_key(row), measure, row["gateway"])][0] += row[column]
    from refunddesk.refunds.deadlines import calendar

    cal = calendar()
    pairs = (RefundRequest.objects.filter(decided_by__isnull=False, decided_at__isnull=False)
             .annotate(d=TruncDate("submitted_at"), b=TruncDate("decided_at"), **_dims("order__", "customer__"))
             .order_by().values("d", "b", "p", "r", "c").annotate(n=Count("id")))
    for row in pairs:
        try:
            days = str(cal.business_days_between(row["d"], row["b"]))
        except ApplicationError:  # a year with no holiday schedule recorded: counted as unknown
            days = ""
        out[(*_key(row), Measure.DECISION_DAYS, days)][0] += row["n"]
    agents = (TimelineEvent.objects.filter(action__in=DECISIONS, actor__isnull=False)
              .annotate(d=TruncDate("request__submitted_at"), **_dims("request__order__", "request__customer__"))
              .order_by().values("d", "p", "r", "c", "actor_id").annotate(
                  n=Count("id"), overrides=Count("id", filter=Q(override=True))))
    for row in agents:
        out[(*_key(row), Measure.DECISIONS, str(row["actor_id"]))][0] += row["n"]
        if row["overrides"]:
            out[(*_key(row), Measure.OVERRIDES, str(row["actor_id"]))][0] += row["overrides"]
    items = (CompensationItem.objects.annotate(d=TruncDate("at"), **_dims("order__", "order__customer__"))
             .order_by().values("d", "p", "r", "c", "incident_id", "outcome").annotate(n=Count("id")))
    for row in items:
        out[(*_key(row), Measure.COMPENSATION, f"{row['incident_id']}:{row['outcome']}")][0] += row["n"]
    return out


def figures_refresh(*, now: dt.datetime | None = None) -> FiguresRefresh:
    """Rebuild every daily figure from the requests, orders, refunds, timeline and compensations, in one
    transaction (readers see the old figures until it commits). `now`: the moment deadline and arrival
    figures are judged at (default: now). Returns the FiguresRefresh recorded (rows written, seconds taken).
    Raises nothing of its own; a database error rolls the whole rebuild back."""
    now = now or timezone.now()
    began = time.perf_counter()
    requests = _request_figures(now)
    figures = _figures(now)
    fields = ("requests", "granted", "orders", "refunds", "at_once", "by_people", "deadline_kept", "deadline_late",
              "deadline_overdue", "deadline_running", "appeals", "appeals_upheld", "appeals_rejected")
    with transaction.atomic():
        DailyRequestFigure.objects.all().delete()
        DailyFigure.objects.all().delete()
        DailyRequestFigure.objects.bulk_create(
            (DailyRequestFigure(day=day, plan=plan, region=region, channel=channel, reason=reason,
                                **{f: counts.get(f, 0) for f in fields})
             for (day, plan, region, channel, reason), counts in requests.items()), batch_size=BATCH)
        DailyFigure.objects.bulk_create(
            (DailyFigure(day=day, plan=plan, region=region, channel=channel, measure=measure, key=key, n=n,
                         amount_minor=amount)
             for (day, plan, region, channel, measure, key), (n, amount) in figures.items()), batch_size=BATCH)
        done = FiguresRefresh.objects.create(started_at=now, finished_at=timezone.now(),
                                             seconds=round(time.perf_counter() - began, 3),
                                             rows=len(requests) + len(figures))
        FiguresRefresh.objects.filter(finished_at__lt=done.finished_at).delete()  # only the latest is read
    from django.core.cache import cache

    cache.delete(QUEUED_KEY)
    log.info("report figures rebuilt: %s rows in %.1f s", done.rows, done.seconds)
    return done


#: How often the worker asks whether a rebuild is due (seconds), and the shortest time between two.
CHECK_SECONDS = 60
#: A rebuild is due when the last one is older than this many times its own duration (so rebuilding costs at
#: most about 1/30 of one worker), or older than REFUNDDESK_REPORTS_REFRESH_SECONDS, whichever comes first.
COST_FACTOR = 30
QUEUED_KEY = "refunddesk:reports:rebuild-queued"


def figures_refresh_due(*, now: dt.datetime | None = None) -> bool:
    """Whether the daily figures should be rebuilt now: never built, or the last rebuild is older than
    min(REFUNDDESK_REPORTS_REFRESH_SECONDS, max(CHECK_SECONDS, COST_FACTOR x its duration)). A small
    installation (a rebuild in milliseconds) is rebuilt every minute, a million requests (20 s) every 10 minutes."""
    from django.conf import settings

    from refunddesk.reports.selectors import figures_as_of

    last = figures_as_of()
    if last is None:
        return True
    interval = min(settings.REFUNDDESK_REPORTS_REFRESH_SECONDS, max(CHECK_SECONDS, COST_FACTOR * last.seconds))
    return ((now or timezone.now()) - last.finished_at).total_seconds() >= interval


def figures_refresh_enqueue() -> None:
    """The worker's periodic job (every CHECK_SECONDS): queue a rebuild of the report figures when one is due
    (`figures_refresh_due`) and none is queued yet (a mark in the shared cache, dropped when a rebuild ends)."""
    from django.conf import settings
    from django.core.cache import cache

    from refunddesk.reports.tasks import figures_refresh as task

    if figures_refresh_due() and cache.add(QUEUED_KEY, 1, timeout=settings.REFUNDDESK_REPORTS_REFRESH_SECONDS):
        task.enqueue()

"""The reports for supervisors and finance: aggregate queries only (COUNT / SUM grouped in the database, never a
row per request read into Python), each answered as a `charts.Chart`.

Three reports (REPORTS): `requests` (requests and refund rate by week, plan, sales channel and reason),
`handling` (decided at once by the policy or by people, review deadlines kept or missed, time to decision,
overrides per agent, appeals) and `money` (refunded by gateway and currency, arrival estimates against
settlement, outage compensations). Every chart takes the same `Filters`: a period and optionally a plan, a
region and a sales channel.

Definitions (stated once, in the charts' notes too):
* a request belongs to the period it was submitted in; an order to the one it was bought in; a refund to the
  one it was created in;
* a *refund* is a payments.Refund that succeeded (and stands: a reversal makes it failed); the refund rate is
  refunds / orders of the same group;
* decided at once: the policy's first move was approve, reject or redirect; by people: policy_review;
* a review deadline is kept when a person decided on or before `review_due_at`, missed when later, or when it
  passed with no decision yet;
* time to decision: business days (the merchant's calendar, refunds.deadlines) from the day of submission to
  the day a person decided, median and 90th percentile (nearest rank), read from counts per pair of days;
* an appeal is upheld when the supervisor approved it (appeal_approve).
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from refunddesk.billing.models import Order, Plan, SalesChannel
from refunddesk.core.dates import format_date
from refunddesk.core.errors import ApplicationError, ValidationError
from refunddesk.core.models import User
from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.refunds.models import Reason, RefundRequest, TimelineEvent
from refunddesk.reports.charts import Chart, Column
from refunddesk.status.models import CompensationItem

GRANTED = ("approved", "accepted", "refunding", "refunded")
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Filters:
    """[start, end) and optionally a plan (its merchant id), a region code and a sales channel."""

    start: dt.datetime
    end: dt.datetime
    plan: str = ""
    region: str = ""
    channel: str = ""

    def __post_init__(self):
        if self.end <= self.start:
            raise ValidationError(_("The period must end on or after its first day."), field="end")
        if (self.end - self.start).days > MAX_DAYS:
            raise ValidationError(_("A report covers at most three years; choose a shorter period."), field="end")

    def q(self, order_path: str, customer_path: str) -> Q:
        """The plan, region and channel filters for a model reaching the order and the customer by these paths."""
        q = Q()
        if self.plan:
            q &= Q(**{f"{order_path}plan__external_id": self.plan})
        if self.region:
            q &= Q(**{f"{customer_path}region": self.region})
        if self.channel:
            q &= Q(**{f"{order_path}sales_channel": self.channel})
        return q


def _requests(f: Filters):
    return RefundRequest.objects.filter(f.q("order__", "customer__"), submitted_at__gte=f.start,
                                        submitted_at__lt=f.end)


def _orders(f: Filters):
    return Order.objects.filter(f.q("", "customer__"), purchased_at__gte=f.start, purchased_at__lt=f.end)


def _refunds(f: Filters):
    return Refund.objects.filter(f.q("order__", "order__customer__"), created_at__gte=f.start, created_at__lt=f.end)


def _grouped(qs, key: str, **aggregates) -> dict:
    """{group value: {aggregate name: value}} of one GROUP BY query."""
    return {row.pop(key): row for row in qs.order_by().values(key).annotate(**aggregates)}


def _rate_rows(labels: dict, requests: dict, orders: dict, refunds: dict) -> list[tuple[str, dict]]:
    rows = []
    for key, label in labels.items():
        o = orders.get(key, {}).get("n", 0)
        r = refunds.get(key, {}).get("n", 0)
        rows.append((label, {"requests": requests.get(key, {}).get("n", 0), "orders": o, "refunds": r,
                             "rate": (r / o) if o else None}))
    return rows


def _rate_columns() -> list[Column]:
    return [Column("requests", _("requests")), Column("refunds", _("refunds")),
            Column("orders", _("orders"), bar=False), Column("rate", _("refund rate"), "percent", bar=False)]


def _day(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


# --- requests ------------------------------------------------------------------------------------


@dataclass
class Cube:
    """The period's requests, orders and refunds that succeeded, counted per (week, plan, sales channel) - and the
    requests per reason too - in three GROUP BY queries that every chart of the requests report adds up from."""

    requests: dict  # (week, plan, channel, reason) -> [requests, granted]
    orders: dict  # (week, plan, channel) -> orders
    refunds: dict  # (week, plan, channel) -> refunds

    def total(self, table: str, axis: int) -> dict:
        """Counts of `table` ("requests", "orders", "refunds") summed per value of dimension `axis` (0 week,
        1 plan, 2 channel, 3 reason), as {value: {"n": count}} (requests also "granted")."""
        out: dict = {}
        for key, value in getattr(self, table).items():
            row = out.setdefault(key[axis], {"n": 0, "granted": 0})
            if table == "requests":
                row["n"] += value[0]
                row["granted"] += value[1]
            else:
                row["n"] += value
        return out


def _cube(f: Filters) -> Cube:
    """The Cube of `f`, computed once per Filters (each page builds its own Filters, so never stale)."""
    cube = f.__dict__.get("_cube")
    if cube is not None:
        return cube
    n = Count("id")
    requests = {(_day(r["w"]), r["order__plan__external_id"], r["order__sales_channel"], r["reason"]):
                [r["n"], r["granted"]]
                for r in _requests(f).annotate(w=TruncWeek("submitted_at")).order_by()
                .values("w", "order__plan__external_id", "order__sales_channel", "reason")
                .annotate(n=n, granted=Count("id", filter=Q(status__in=GRANTED)))}
    orders = {(_day(r["w"]), r["plan__external_id"], r["sales_channel"]): r["n"]
              for r in _orders(f).annotate(w=TruncWeek("purchased_at")).order_by()
              .values("w", "plan__external_id", "sales_channel").annotate(n=n)}
    refunds = {(_day(r["w"]), r["order__plan__external_id"], r["order__sales_channel"]): r["n"]
               for r in _refunds(f).filter(status=RefundStatus.SUCCEEDED).annotate(w=TruncWeek("created_at"))
               .order_by().values("w", "order__plan__external_id", "order__sales_channel").annotate(n=n)}
    cube = Cube(requests, orders, refunds)
    object.__setattr__(f, "_cube", cube)
    return cube


def by_week(f: Filters, language: str) -> Chart:
    c = _cube(f)
    requests, orders, refunds = c.total("requests", 0), c.total("orders", 0), c.total("refunds", 0)
    weeks = sorted(set(requests) | set(orders) | set(refunds))
    labels = {w: _("week of %(day)s") % {"day": format_date(w, language)} for w in weeks}
    return Chart("requests-by-week", _("Requests and refund rate by week"), _rate_columns(),
                 _rate_rows(labels, requests, orders, refunds),
                 note=_("Refund rate: refunds that succeeded / orders bought in the same week."))


def by_plan(f: Filters, language: str) -> Chart:
    c = _cube(f)
    names = dict(Plan.objects.values_list("external_id", "name"))
    requests, orders, refunds = c.total("requests", 1), c.total("orders", 1), c.total("refunds", 1)
    keys = sorted(set(requests) | set(orders) | set(refunds), key=lambda k: -requests.get(k, {}).get("n", 0))
    labels = {k: f"{names.get(k, k)} ({k})" for k in keys}
    return Chart("requests-by-plan", _("Requests and refund rate by plan"), _rate_columns(),
                 _rate_rows(labels, requests, orders, refunds),
                 note=_("Refund rate: refunds that succeeded / orders of the plan bought in the period."))


def by_channel(f: Filters, language: str) -> Chart:
    c = _cube(f)
    requests, orders, refunds = c.total("requests", 2), c.total("orders", 2), c.total("refunds", 2)
    labels = {value: str(label) for value, label in SalesChannel.choices
              if value in requests or value in orders or value in refunds}
    return Chart("requests-by-channel", _("Requests and refund rate by sales channel"), _rate_columns(),
                 _rate_rows(labels, requests, orders, refunds),
                 note=_("Refund rate: refunds that succeeded / orders sold through the channel in the period."))


def by_reason(f: Filters, language: str) -> Chart:
    groups = _cube(f).total("requests", 3)
    rows = [(str(label), {"requests": groups[v]["n"], "granted": groups[v]["granted"],
                          "rate": groups[v]["granted"] / groups[v]["n"]})
            for v, label in Reason.choices if v in groups]
    return Chart("requests-by-reason", _("Requests by reason, and how many were granted"),
                 [Column("requests", _("requests")), Column("granted", _("granted")),
                  Column("rate", _("granted share"), "percent", bar=False)], rows,
                 note=_("Granted: approved, offer accepted, refund in progress or refunded."))


# --- handling ------------------------------------------------------------------------------------


def decided_by(f: Filters, language: str) -> Chart:
    # the policy's move is made at submission: the events of the period are those of the period's requests
    events = _grouped(TimelineEvent.objects.filter(
        f.q("request__order__", "request__customer__"), at__gte=f.start, at__lt=f.end,
        action__in=("policy_approve", "policy_reject", "policy_redirect", "policy_review")), "action", n=Count("id"))
    at_once = sum(events.get(a, {}).get("n", 0) for a in ("policy_approve", "policy_reject", "policy_redirect"))
    people = events.get("policy_review", {}).get("n", 0)
    total = at_once + people
    rows = [(_("decided at once by the policy"), {"requests": at_once, "share": at_once / total if total else None}),
            (_("decided by people"), {"requests": people, "share": people / total if total else None})]
    return Chart("decided-by", _("Decided at once by the policy, or by people"),
                 [Column("requests", _("requests")), Column("share", _("share"), "percent", bar=False)], rows,
                 note=_("At once: the policy approved, rejected or sent the request to the store on submission."))


def deadlines(f: Filters, language: str) -> Chart:
    now = timezone.now()
    counts = _requests(f).filter(review_due_at__isnull=False).aggregate(
        kept=Count("id", filter=Q(decided_at__isnull=False, decided_at__lte=F_due())),
        late=Count("id", filter=Q(decided_at__isnull=False, decided_at__gt=F_due())),
        overdue=Count("id", filter=Q(decided_at__isnull=True, review_due_at__lt=now, status__in=(
            "in_review", "waiting_for_customer", "offered", "declined", "appealed"))),
        running=Count("id", filter=Q(decided_at__isnull=True, review_due_at__gte=now)))
    rows = [(_("kept"), {"requests": counts["kept"]}), (_("missed: decided late"), {"requests": counts["late"]}),
            (_("missed: still undecided"), {"requests": counts["overdue"]}),
            (_("not due yet"), {"requests": counts["running"]})]
    return Chart("review-deadlines", _("Review deadlines kept and missed"), [Column("requests", _("requests"))],
                 rows, note=_("Requests sent to a person; the deadline counts in business days."))


def F_due():  # noqa: N802 - reads like the column it is
    from django.db.models import F

    return F("review_due_at")


def percentile(counts: dict[float, int], p: float) -> float | None:
    """The nearest-rank `p` percentile (0 < p <= 1) of values given with their counts."""
    total = sum(counts.values())
    if not total:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return None


def time_to_decision(f: Filters, language: str) -> Chart:
    from refunddesk.refunds.deadlines import calendar

    pairs = (_requests(f).filter(decided_by__isnull=False, decided_at__isnull=False)
             .annotate(a=TruncDate("submitted_at"), b=TruncDate("decided_at")).order_by()
             .values("a", "b").annotate(n=Count("id")))
    cal = calendar()
    days: dict[float, int] = defaultdict(int)
    unknown = 0
    years: dict[int, list[dt.date]] = {}  # year -> its business days, read once per year

    def position(day: dt.date) -> int:
        """How many business days of its year fall on or before `day`."""
        business = years.get(day.year)
        if business is None:
            business = years[day.year] = cal.business_days(dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
        return bisect_right(business, day)

    for row in pairs:
        a, b = _day(row["a"]), _day(row["b"])
        try:
            if a.year == b.year:
                days[float(max(0, position(b) - position(a)))] += row["n"]
            else:
                days[float(len(cal.business_days(a + dt.timedelta(days=1), b)))] += row["n"]
        except ApplicationError:  # a year with no holiday schedule recorded: not counted, said in the note
            unknown += row["n"]
    decided = sum(days.values())
    rows = [(_("median"), {"days": percentile(days, 0.5), "requests": decided}),
            (_("90th percentile"), {"days": percentile(days, 0.9), "requests": decided})]
    note = _("From the day of submission to the day a person decided, in business days.")
    if unknown:
        note += " " + _("%(n)s requests in a year without a holiday schedule are not counted.") % {"n": unknown}
    return Chart("time-to-decision", _("Time to decision"),
                 [Column("days", _("business days"), "days"), Column("requests", _("decided by people"), bar=False)],
                 rows, note=note)


def overrides(f: Filters, language: str) -> Chart:
    groups = _grouped(TimelineEvent.objects.filter(
        f.q("request__order__", "request__customer__"), at__gte=f.start,  # decided after submission
        request__submitted_at__gte=f.start, request__submitted_at__lt=f.end,
        action__in=("approve", "reject", "offer", "appeal_approve", "appeal_reject"), actor__isnull=False),
        "actor_id",
        decisions=Count("id"), overrides=Count("id", filter=Q(override=True)))
    names = {u.pk: u.display_name for u in User.objects.filter(pk__in=list(groups))
             .only("username", "first_name", "last_name")}  # people by their names, not user names (issue 17)
    rows = sorted(((names.get(pk, str(pk)), {"decisions": v["decisions"], "overrides": v["overrides"],
                                             "share": v["overrides"] / v["decisions"]}) for pk, v in groups.items()),
                  key=lambda r: (-r[1]["overrides"], r[0]))
    return Chart("overrides-per-agent", _("Overrides of the policy per agent"),
                 [Column("decisions", _("decisions")), Column("overrides", _("overrides")),
                  Column("share", _("override share"), "percent", bar=False)], rows,
                 note=_("Each decision a person made (approve, reject, offer, appeal); an override goes against "
                        "the policy's decision and is recorded with its reason."))


def appeals(f: Filters, language: str) -> Chart:
    counts = TimelineEvent.objects.filter(
        f.q("request__order__", "request__customer__"), at__gte=f.start, action__in=(
            "appeal", "appeal_approve", "appeal_reject"),
        request__submitted_at__gte=f.start, request__submitted_at__lt=f.end).aggregate(
        appealed=Count("id", filter=Q(action="appeal")), upheld=Count("id", filter=Q(action="appeal_approve")),
        rejected=Count("id", filter=Q(action="appeal_reject")))
    waiting = counts["appealed"] - counts["upheld"] - counts["rejected"]
    rows = [(_("appeals"), {"requests": counts["appealed"]}), (_("upheld"), {"requests": counts["upheld"]}),
            (_("rejected"), {"requests": counts["rejected"]}), (_("waiting"), {"requests": max(0, waiting)})]
    return Chart("appeals", _("Appeals and how many were upheld"), [Column("requests", _("requests"))], rows,
                 note=_("Upheld: a supervisor who did not make the first decision approved the refund."))


# --- money ---------------------------------------------------------------------------------------


def money_by_gateway(f: Filters, language: str) -> list[Chart]:
    groups = (_refunds(f).filter(status=RefundStatus.SUCCEEDED).order_by().values("currency", "gateway")
              .annotate(total=Sum("amount_minor"), n=Count("id")))
    by_currency: dict[str, list] = defaultdict(list)
    for row in groups:
        by_currency[row["currency"]].append((row["gateway"], {"total": row["total"], "refunds": row["n"]}))
    charts = []
    for currency in sorted(by_currency) or ["CNY"]:
        rows = sorted(by_currency.get(currency, []), key=lambda r: -r[1]["total"])
        charts.append(Chart(f"refunded-{currency.lower()}", _("Money refunded in %(currency)s by gateway")
                            % {"currency": currency},
                            [Column("total", _("refunded"), "money"), Column("refunds", _("refunds"), bar=False)],
                            rows, currency=currency,
                            note=_("Refunds that succeeded, created in the period; never converted between "
                                   "currencies.")))
    return charts


def arrival(f: Filters, language: str) -> Chart:
    from django.db.models import F

    now = timezone.now()
    groups = _grouped(_refunds(f).filter(arrival_by__isnull=False), "gateway",
                      on_time=Count("id", filter=Q(status=RefundStatus.SUCCEEDED, settled_at__lte=F("arrival_by"))),
                      late=Count("id", filter=Q(status=RefundStatus.SUCCEEDED, settled_at__gt=F("arrival_by"))),
                      overdue=Count("id", filter=Q(status__in=(RefundStatus.PENDING, RefundStatus.SUBMITTED),
                                                   arrival_by__lt=now)))
    rows = [(gateway, v) for gateway, v in sorted(groups.items())]
    return Chart("arrival", _("Arrival estimates against settlement"),
                 [Column("on_time", _("settled by the estimate")), Column("late", _("settled after it")),
                  Column("overdue", _("past the estimate, not settled"))], rows,
                 note=_("The estimate is the latest arrival date told to the customer (arrival_by)."))


def compensations(f: Filters, language: str) -> Chart:
    from refunddesk.core.i18n import is_zh

    title = "incident__title_zh" if is_zh(language) else "incident__title_en"
    groups = (CompensationItem.objects.filter(f.q("order__", "order__customer__"), at__gte=f.start, at__lt=f.end)
              .order_by().values("incident_id", title).annotate(
                  approve=Count("id", filter=Q(outcome="approve")), review=Count("id", filter=Q(outcome="review")),
                  reject=Count("id", filter=Q(outcome="reject")), skipped=Count("id", filter=Q(outcome="skipped"))))
    rows = [(f"#{g['incident_id']} {g[title]}", {k: g[k] for k in ("approve", "review", "reject", "skipped")})
            for g in sorted(groups, key=lambda g: g["incident_id"])]
    return Chart("outage-compensations", _("Outage compensations"),
                 [Column("approve", _("refunded at once")), Column("review", _("sent to a person")),
                  Column("reject", _("refused by the policy")), Column("skipped", _("skipped"))], rows,
                 note=_("Orders each incident's compensation looked at, by what the policy decided."))


REPORTS = {
    "requests": (by_week, by_plan, by_channel, by_reason),
    "handling": (decided_by, deadlines, time_to_decision, overrides, appeals),
    "money": (money_by_gateway, arrival, compensations),
}


def report_title(name: str) -> str:
    return {"requests": _("Requests and refund rate"), "handling": _("How requests are handled"),
            "money": _("Money refunded")}[name]


def report_charts(name: str, filters: Filters, language: str) -> list[Chart]:
    """The charts of report `name` (REPORTS) for `filters`, their labels in `language`."""
    charts: list[Chart] = []
    for build in REPORTS[name]:
        made = build(filters, language)
        charts.extend(made if isinstance(made, list) else [made])
    return charts

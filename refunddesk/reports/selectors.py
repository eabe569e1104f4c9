"""The reports for supervisors and finance, each chart answered as a `charts.Chart`: a few SUMs grouped in the
database over the daily figures (reports.models, rebuilt by reports.services.figures_refresh every
REFUNDDESK_REPORTS_REFRESH_SECONDS), never a row per request read into Python. `figures_as_of` says when they
were built; the pages show it.

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
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from refunddesk.billing.models import Plan, SalesChannel
from refunddesk.core.dates import format_date
from refunddesk.core.errors import ValidationError
from refunddesk.core.models import User
from refunddesk.refunds.models import Reason
from refunddesk.reports.charts import Chart, Column
from refunddesk.reports.models import DailyFigure, DailyRequestFigure, FiguresRefresh, Measure
from refunddesk.status.models import Incident

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


def _days(f: Filters, model=DailyRequestFigure, measure: str = ""):
    """The daily figures of `f`: its days (the merchant's time zone) and its plan, region and channel."""
    qs = model.objects.filter(day__gte=timezone.localdate(f.start), day__lt=timezone.localdate(f.end))
    if measure:
        qs = qs.filter(measure=measure)
    if f.plan:
        qs = qs.filter(plan=f.plan)
    if f.region:
        qs = qs.filter(region=f.region)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    return qs.order_by()


def _measure(f: Filters, measure: str) -> dict[str, dict[str, int]]:
    """{key: {"n", "amount"}} of one DailyFigure measure over `f`."""
    return {row["key"]: row for row in _days(f, DailyFigure, measure).values("key")
            .annotate(n=Sum("n"), amount=Sum("amount_minor"))}


def _totals(f: Filters, *columns: str) -> dict[str, int]:
    """Sums of DailyRequestFigure columns over `f` (0 when there is nothing)."""
    sums = _days(f).aggregate(**{c: Sum(c) for c in columns})
    return {c: sums[c] or 0 for c in columns}


def _rate_rows(labels: dict, requests: dict, orders: dict, refunds: dict) -> list[tuple[str, dict]]:
    rows = []
    for key, label in labels.items():
        o = orders.get(key, {}).get("n", 0)
        r = refunds.get(key, {}).get("n", 0)
        rows.append((label, {"requests": requests.get(key, {}).get("n", 0), "orders": o, "refunds": r,
                             "rate": (r / o) if o else None}))
    return rows


def _rate_columns() -> list[Column]:
    return [Column("requests", _("requests"), one=pgettext("a count of 1", "request")), Column("refunds", _("refunds"), one=pgettext("a count of 1", "refund")),
            Column("orders", _("orders"), bar=False, one=pgettext("a count of 1", "order")), Column("rate", _("refund rate"), "percent", bar=False)]


def _day(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


# --- requests ------------------------------------------------------------------------------------


@dataclass
class Cube:
    """The period's requests, orders and refunds that succeeded, counted per (week, plan, sales channel) - and the
    requests per reason too - in one GROUP BY over the daily figures that every chart of the requests report adds
    up from."""

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
    requests: dict = {}
    orders: dict = defaultdict(int)
    refunds: dict = defaultdict(int)
    for r in (_days(f).annotate(w=TruncWeek("day")).values("w", "plan", "channel", "reason")
              .annotate(n=Sum("requests"), granted=Sum("granted"), orders=Sum("orders"), refunds=Sum("refunds"))):
        week = _day(r["w"])
        if r["n"]:
            requests[(week, r["plan"], r["channel"], r["reason"])] = [r["n"], r["granted"]]
        if r["orders"]:
            orders[(week, r["plan"], r["channel"])] += r["orders"]
        if r["refunds"]:
            refunds[(week, r["plan"], r["channel"])] += r["refunds"]
    cube = Cube(requests, dict(orders), dict(refunds))
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
                 [Column("requests", _("requests"), one=pgettext("a count of 1", "request")), Column("granted", _("granted")),
                  Column("rate", _("granted share"), "percent", bar=False)], rows,
                 note=_("Granted: approved, offer accepted, refund in progress or refunded."))


# --- handling ------------------------------------------------------------------------------------


def decided_by(f: Filters, language: str) -> Chart:
    counts = _totals(f, "at_once", "by_people")
    at_once, people = counts["at_once"], counts["by_people"]
    total = at_once + people
    rows = [(_("decided at once by the policy"), {"requests": at_once, "share": at_once / total if total else None}),
            (_("decided by people"), {"requests": people, "share": people / total if total else None})]
    return Chart("decided-by", _("Decided at once by the policy, or by people"),
                 [Column("requests", _("requests"), one=pgettext("a count of 1", "request")), Column("share", _("share"), "percent", bar=False)], rows,
                 note=_("At once: the policy approved, rejected or sent the request to the store on submission."))


def deadlines(f: Filters, language: str) -> Chart:
    counts = _totals(f, "deadline_kept", "deadline_late", "deadline_overdue", "deadline_running")
    rows = [(_("kept"), {"requests": counts["deadline_kept"]}),
            (_("missed: decided late"), {"requests": counts["deadline_late"]}),
            (_("missed: still undecided"), {"requests": counts["deadline_overdue"]}),
            (_("not due yet"), {"requests": counts["deadline_running"]})]
    return Chart("review-deadlines", _("Review deadlines kept and missed"), [Column("requests", _("requests"), one=pgettext("a count of 1", "request"))],
                 rows, note=_("Requests sent to a person; the deadline counts in business days."))


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
    days: dict[float, int] = {}
    unknown = 0
    for key, row in _measure(f, Measure.DECISION_DAYS).items():
        if key == "":  # a year with no holiday schedule recorded (reports.services)
            unknown += row["n"]
        else:
            days[float(key)] = days.get(float(key), 0) + row["n"]
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
    decisions, overridden = _measure(f, Measure.DECISIONS), _measure(f, Measure.OVERRIDES)
    names = {str(u.pk): u.display_name for u in User.objects.filter(pk__in=[int(k) for k in decisions])
             .only("username", "first_name", "last_name")}  # people by their names, not user names (issue 17)
    rows = []
    for key, row in decisions.items():
        n, o = row["n"], overridden.get(key, {}).get("n", 0)
        rows.append((names.get(key, key), {"decisions": n, "overrides": o, "share": o / n}))
    rows.sort(key=lambda r: (-r[1]["overrides"], r[0]))
    return Chart("overrides-per-agent", _("Overrides of the policy per agent"),
                 [Column("decisions", _("decisions"), one=pgettext("a count of 1", "decision")), Column("overrides", _("overrides"), one=pgettext("a count of 1", "override")),
                  Column("share", _("override share"), "percent", bar=False)], rows,
                 note=_("Each decision a person made (approve, reject, offer, appeal); an override goes against "
                        "the policy's decision and is recorded with its reason."))


def appeals(f: Filters, language: str) -> Chart:
    counts = _totals(f, "appeals", "appeals_upheld", "appeals_rejected")
    waiting = counts["appeals"] - counts["appeals_upheld"] - counts["appeals_rejected"]
    rows = [(_("appeals"), {"requests": counts["appeals"]}), (_("upheld"), {"requests": counts["appeals_upheld"]}),
            (_("rejected"), {"requests": counts["appeals_rejected"]}), (_("waiting"), {"requests": max(0, waiting)})]
    return Chart("appeals", _("Appeals and how many were upheld"), [Column("requests", _("requests"), one=pgettext("a count of 1", "request"))], rows,
                 note=_("Upheld: a supervisor who did not make the first decision approved the refund."))


# --- money ---------------------------------------------------------------------------------------


def money_by_gateway(f: Filters, language: str) -> list[Chart]:
    by_currency: dict[str, list] = defaultdict(list)
    for key, row in _measure(f, Measure.REFUNDED).items():
        currency, gateway = key.split(":", 1)
        by_currency[currency].append((gateway, {"total": row["amount"], "refunds": row["n"]}))
    charts = []
    for currency in sorted(by_currency) or ["CNY"]:
        rows = sorted(by_currency.get(currency, []), key=lambda r: -r[1]["total"])
        charts.append(Chart(f"refunded-{currency.lower()}", _("Money refunded in %(currency)s by gateway")
                            % {"currency": currency},
                            [Column("total", _("refunded"), "money"), Column("refunds", _("refunds"), one=pgettext("a count of 1", "refund"), bar=False)],
                            rows, currency=currency,
                            note=_("Refunds that succeeded, created in the period; never converted between "
                                   "currencies.")))
    return charts


def arrival(f: Filters, language: str) -> Chart:
    groups: dict[str, dict[str, int]] = defaultdict(lambda: {"on_time": 0, "late": 0, "overdue": 0})
    for measure, column in ((Measure.ARRIVAL_ON_TIME, "on_time"), (Measure.ARRIVAL_LATE, "late"),
                            (Measure.ARRIVAL_OVERDUE, "overdue")):
        for gateway, row in _measure(f, measure).items():
            groups[gateway][column] += row["n"]
    rows = [(gateway, v) for gateway, v in sorted(groups.items())]
    return Chart("arrival", _("Arrival estimates against settlement"),
                 [Column("on_time", _("settled by the estimate")), Column("late", _("settled after it")),
                  Column("overdue", _("past the estimate, not settled"))], rows,
                 note=_("The estimate is the latest arrival date told to the customer (arrival_by)."))


def compensations(f: Filters, language: str) -> Chart:
    from refunddesk.core.i18n import is_zh

    outcomes = ("approve", "review", "reject", "skipped")
    groups: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(outcomes, 0))
    for key, row in _measure(f, Measure.COMPENSATION).items():
        incident, outcome = key.split(":", 1)
        if outcome in outcomes:
            groups[int(incident)][outcome] += row["n"]
    titles = dict(Incident.objects.filter(pk__in=list(groups)).values_list(
        "pk", "title_zh" if is_zh(language) else "title_en"))
    rows = [(f"#{pk} {titles.get(pk, '')}", groups[pk]) for pk in sorted(groups)]
    return Chart("outage-compensations", _("Outage compensations"),
                 [Column("approve", _("refunded at once")), Column("review", _("sent to a person")),
                  Column("reject", _("refused by the policy")), Column("skipped", _("skipped"))], rows,
                 note=_("Orders each incident's compensation looked at, by what the policy decided."))


REPORTS = {
    "requests": (by_week, by_plan, by_channel, by_reason),
    "handling": (decided_by, deadlines, time_to_decision, overrides, appeals),
    "money": (money_by_gateway, arrival, compensations),
}


def figures_as_of() -> FiguresRefresh | None:
    """The latest rebuild of the daily figures (when, how long it took), or None when they were never built."""
    return FiguresRefresh.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()


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

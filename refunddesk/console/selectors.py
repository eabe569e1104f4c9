"""Reads for the staff console: the queue, the case page, finance's list, the policy draft. Nothing writes."""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunddesk.billing.models import Order
from refunddesk.core import roles
from refunddesk.core.calendar import BusinessCalendar, Schedule
from refunddesk.core.errors import ApplicationError, NotFound
from refunddesk.core.models import HolidaySchedule
from refunddesk.core.money import Money
from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.policies import engine, testing
from refunddesk.policies.facts import FACTS
from refunddesk.policies.models import PolicyDraft, PolicyVersion
from refunddesk.policies.services import compiled, version_in_force
from refunddesk.refunds import selectors as refund_selectors
from refunddesk.refunds.models import Evidence, RefundRequest
from refunddesk.refunds.states import actions_available, staff_actor

QUEUE_PAGE_SIZE = 250
STALE_AFTER = dt.timedelta(hours=1)

STAFF_LABELS = {
    "submit": _("Customer applied"),
    "policy_approve": _("Approved by the policy"),
    "policy_reject": _("Rejected by the policy"),
    "policy_redirect": _("Sent to the store by the policy"),
    "policy_review": _("Sent to review by the policy"),
    "ask_info": _("Asked the customer for information"),
    "reply": _("Customer replied"),
    "offer": _("Offered an amount"),
    "accept_offer": _("Customer accepted the offer"),
    "decline_offer": _("Customer declined the offer"),
    "approve": _("Approved"),
    "reject": _("Rejected"),
    "appeal": _("Customer appealed"),
    "withdraw": _("Customer withdrew"),
    "appeal_approve": _("Appeal upheld"),
    "appeal_reject": _("Appeal rejected (final)"),
    "refund_start": _("Refund handed to the gateway"),
    "refund_succeed": _("Refund paid"),
    "refund_fail": _("Refund failed"),
    "refund_retry": _("Refund retried"),
    "refund_reverse": _("Refund returned by the bank after it was paid"),
    "finance_note": _("Finance note"),
    "mediation": _("Mediation recorded"),
    "internal_note": _("Internal note"),
    "assign": _("Assigned"),
    "deadline_set": _("Deadline set (the holiday schedule is now known)"),
    "reapply": _("Customer applied again; closed"),
    "no_answer_reminder": _("Customer reminded: no answer yet"),
    "no_answer_close": _("Closed: the customer did not answer in time"),
    "no_answer_review": _("No answer in time: back to review"),
    "no_answer_accept": _("No answer in time: offer taken as accepted"),
    "no_answer_decline": _("No answer in time: offer taken as declined"),
    "customer_message": _("Customer wrote"),
    "staff_message": _("Message to the customer"),
}


def actor_kind(user) -> str:
    return staff_actor(user)


def staff_members() -> QuerySet:
    """Everyone who can be given a case: agents and supervisors."""
    return (get_user_model().objects.filter(is_active=True, groups__name__in=[roles.AGENT, roles.SUPERVISOR])
            .distinct().order_by("username"))


def gateways() -> list[str]:
    return sorted(set(Order.objects.values_list("gateway", flat=True).distinct()))


# --- the queue --------------------------------------------------------------------------------


def queue_page(*, filters: refund_selectors.QueueFilters, user, page: int | str = 1, now: dt.datetime | None = None):
    """One page of the queue, ordered by deadline: a fixed number of queries however many rows it shows."""
    rows = refund_selectors.queue(filters=filters, user=user, now=now)
    return Paginator(rows, QUEUE_PAGE_SIZE).get_page(page)


# --- the case page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FactRow:
    name: str
    meaning: str
    value: str


@dataclass(frozen=True)
class TraceRow:
    clause: str
    matched: bool
    decided: bool
    outcome: str
    condition: str
    notes: tuple[str, ...]
    said: str = ""  # the clause in the policy's words, in the page's language (the CEL is small print)


@dataclass
class CaseView:
    req: RefundRequest
    refund: Refund | None
    facts: list[FactRow]
    trace: list[TraceRow]
    clauses: list[tuple[str, str]]  # (id, "id — outcome") a decision can cite
    events: list[dict]
    evidence: list[Evidence]
    history: list[RefundRequest]
    signals: list  # refunds.selectors.Signal: frequent refunder, use during review (with what triggered it)
    actions: frozenset[str]
    overdue: bool
    policy_error: str = ""


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, object]]:
    out = []
    for key, value in data.items():
        if key.startswith("_"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _flatten(value, name + ".")
        else:
            out.append((name, value))
    return out


def _show(name: str, value: object, language: str) -> str:
    from refunddesk.core.dates import format_datetime
    from refunddesk.policies.facts import display, parse_timestamp

    spec = FACTS.get(name)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if spec is not None and spec.kind == "timestamp" and isinstance(value, str):
        try:
            return format_datetime(parse_timestamp(value), language)
        except ApplicationError:
            return value
    if spec is not None and isinstance(value, int | float) and spec.kind in ("int", "double"):
        return display(name, value, language)  # 80.1 hours, 35%, not 80.13053137416667 or 0.35
    if spec is not None and isinstance(value, str) and spec.kind == "string":
        return display(name, value, language)  # "Alipay", "Technical problem": the vocabulary's words
    return "" if value is None else str(value)


def fact_rows(facts: dict, language: str) -> list[FactRow]:
    rows = []
    currency = (facts.get("order") or {}).get("currency", "")
    for name, value in _flatten(facts):
        spec = FACTS.get(name)
        shown = _show(name, value, language)
        if spec is not None and spec.kind == "money" and currency:
            shown = f"{value} {currency}"
        rows.append(FactRow(name=name, meaning=spec.label(language) if spec else "", value=shown))
    return rows


def case_view(*, public_id: str, user, language: str, now: dt.datetime | None = None) -> CaseView:
    now = now or timezone.now()
    req = refund_selectors.staff_request(public_id=public_id)
    try:
        refund = req.refund
    except RefundRequest.refund.RelatedObjectDoesNotExist:
        refund = None
    policy = None
    policy_error = ""
    if req.policy_version_id:
        try:
            policy = compiled(req.policy_version)
        except ApplicationError as exc:  # a stored version always loaded once; be safe anyway
            policy_error = str(exc.message)
    trace = []
    for step in req.policy_trace or []:
        cid = step.get("clause", "")
        rule = None
        if policy is not None:
            try:
                rule = policy.clause(cid)
            except KeyError:
                rule = None
        trace.append(TraceRow(
            clause=cid, matched=bool(step.get("matched")), decided=cid == req.policy_clause,
            outcome=getattr(rule, "outcome", ""), condition=getattr(rule, "condition", ""),
            notes=tuple(step.get("notes", ())), said=_said(req, cid, language),
        ))
    if req.policy_clause == "default" and not any(t.clause == "default" for t in trace):
        trace.append(TraceRow(clause="default", matched=True, decided=True,
                              outcome=policy.default.outcome if policy else req.policy_outcome,
                              condition=str(_("no clause matched: the policy's default decides")), notes=(),
                              said=_said(req, "default", language)))
    clauses = _clauses(policy)
    history = list(refund_selectors.customer_history(customer=req.customer, exclude_pk=req.pk))
    timeline = list(req.timeline.all())
    return CaseView(
        req=req, refund=refund, facts=fact_rows(req.facts or {}, language), trace=trace, clauses=clauses,
        events=[{"event": e, "label": STAFF_LABELS.get(e.action, e.action)} for e in timeline],
        evidence=list(req.evidence.all()), history=history,
        signals=refund_selectors.refunder_signals(req, now=now),
        actions=frozenset(m.action for m in actions_available(req.status, actor_kind(user))),
        overdue=refund_selectors.is_overdue(req, now), policy_error=policy_error,
    )


def _said(req: RefundRequest, clause: str, language: str) -> str:
    """A clause of the request's policy version in the policy's words (policies.selectors.clause_citation)."""
    from refunddesk.policies.selectors import clause_citation

    cite = clause_citation(req.policy_version, clause, language) if req.policy_version_id else None
    return cite.text if cite else ""


def _clauses(policy: engine.Policy | None) -> list[tuple[str, str]]:
    if policy is None:
        return []
    from refunddesk.portal.templatetags.refunddesk_ui import outcome

    return [(rid, f"{rid} — {outcome(policy.clause(rid).outcome)}") for rid in policy.rule_ids]


def clause_choices(*, public_id: str) -> list[tuple[str, str]]:
    """The clauses a decision on this request may cite (those of the policy version that decided it)."""
    req = RefundRequest.objects.select_related("policy_version").filter(public_id=public_id).first()
    if req is None:
        raise NotFound(_("There is no refund request %(id)s.") % {"id": public_id})
    return _clauses(compiled(req.policy_version)) if req.policy_version_id else []


def staff_evidence(*, public_id: str, pk: int) -> Evidence:
    ev = Evidence.objects.filter(pk=pk, request__public_id=public_id).first()
    if ev is None:
        raise NotFound(_("There is no such file."))
    return ev


def default_amount(req: RefundRequest) -> Money:
    """What an approval with no amount would refund (the policy's amount, capped at what is left)."""
    remaining = req.order.refundable_remaining
    return req.policy_amount.min(remaining) if req.policy_amount is not None else remaining


# --- finance ----------------------------------------------------------------------------------


def refunds_needing_attention(*, now: dt.datetime | None = None) -> QuerySet[Refund]:
    """Refunds a person must look at: failed (reversed after succeeding included), needing attention, manual
    ones to pay, any stuck for long, and any the gateway disagrees about."""
    now = now or timezone.now()
    stale = now - STALE_AFTER
    return (Refund.objects.filter(
        Q(status__in=[RefundStatus.NEEDS_ATTENTION, RefundStatus.FAILED])
        | ~Q(disagreement="")
        | Q(status=RefundStatus.PENDING, gateway="manual")
        | Q(status__in=[RefundStatus.PENDING, RefundStatus.SUBMITTED], created_at__lt=stale))
        .select_related("order", "order__customer", "request").order_by("created_at"))


# --- the policy draft -------------------------------------------------------------------------


@dataclass
class Draft:
    document: str
    cases: str
    saved: PolicyDraft | None
    based_on: PolicyVersion | None


def draft_current(*, now: dt.datetime | None = None) -> Draft:
    """The saved draft, or (when there is none) a copy of the version in force to start from."""
    saved = PolicyDraft.objects.select_related("updated_by").order_by("-updated_at", "-id").first()
    in_force = version_in_force(at=now or timezone.now())
    if saved is not None:
        return Draft(document=saved.document, cases=saved.cases, saved=saved, based_on=in_force)
    if in_force is not None:
        return Draft(document=in_force.document, cases=in_force.cases, saved=None, based_on=in_force)
    return Draft(document="", cases="", saved=None, based_on=None)


@dataclass
class CheckResult:
    ok: bool
    message: str = ""  # the PolicyError text: one problem per line, naming clause and line
    policy: engine.Policy | None = None
    # what the editor shows at the document's lines: {"line": 1-based, "kind": "error" | "warning", "text"}
    marks: list[dict] = field(default_factory=list)


def _problem_marks(problems, kind: str) -> list[dict]:
    return [{"line": p.line or 1, "kind": kind,
             "text": (f"{p.clause}: " if p.clause else "") + p.message} for p in problems]


def draft_check(*, document: str) -> CheckResult:
    """Check a draft document: valid (with the policy and its warnings as marks) or not (every problem as a
    mark at its line)."""
    try:
        policy = engine.load_policy_text(document, "draft")
    except ApplicationError as exc:
        return CheckResult(ok=False, message=str(exc.message), marks=_problem_marks(getattr(exc, "problems", ()),
                                                                                     "error"))
    return CheckResult(ok=True, policy=policy, marks=_problem_marks(policy.warnings, "warning"))


@dataclass(frozen=True)
class ClauseTests:
    """The test cases a clause decided (or was expected to decide), for the report beside that clause."""

    clause: str
    line: int  # where the clause starts in the document (0: the engine's standard rule)
    passed: list[str]  # case names
    failed: list[str]  # "name: what went wrong"
    reached: bool


@dataclass
class TestResult:
    ok: bool
    lines: list[tuple[bool, str]] = field(default_factory=list)  # (passed, line)
    summary: str = ""
    error: str = ""
    by_clause: list[ClauseTests] = field(default_factory=list)  # in the document's order
    marks: list[dict] = field(default_factory=list)  # at the document's lines (beside each clause)
    case_marks: list[dict] = field(default_factory=list)  # at the cases' lines (each failing case)


def draft_test(*, document: str, cases: str) -> TestResult:
    """Run the draft's test cases against it (policies.testing.run_cases): the report, and the cases grouped by
    the clause they exercise (the one that decided, else the one expected), shown beside that clause."""
    from django.utils.translation import gettext

    try:
        policy = engine.load_policy_text(document, "draft")
        report = testing.run_cases(policy, testing.load_cases_text(cases, "draft.cases"))
    except ApplicationError as exc:
        problems = getattr(exc, "problems", ())
        marks = _problem_marks(problems, "error") if isinstance(exc, engine.PolicyError) else []
        return TestResult(ok=False, error=str(exc.message), marks=marks)
    groups: dict[str, ClauseTests] = {
        rid: ClauseTests(rid, policy.clause(rid).line or 0, [], [], rid not in report.uncovered)
        for rid in policy.rule_ids}
    case_marks = []
    for result in report.results:
        rid = result.decision.clause if result.decision is not None else result.case.clause
        group = groups.get(rid) or groups.get(result.case.clause)
        if result.passed:
            if group is not None:
                group.passed.append(result.case.name)
        else:
            why = "; ".join(result.problems)
            if group is not None:
                group.failed.append(f"{result.case.name}: {why}")
            case_marks.append({"line": result.case.line or 1, "kind": "error", "text": why})
    marks = []
    for group in groups.values():
        if not group.line:
            continue
        if group.failed:
            marks.append({"line": group.line, "kind": "error", "text": gettext("Tests failing here: %(cases)s")
                          % {"cases": " · ".join(group.failed)}})
        elif group.passed:
            marks.append({"line": group.line, "kind": "pass", "text": gettext("Tests passing here: %(cases)s")
                          % {"cases": ", ".join(group.passed)}})
        else:
            marks.append({"line": group.line, "kind": "error", "text": gettext("No test case reaches this clause.")})
    return TestResult(ok=report.ok, summary=report.summary(),
                      lines=[(not line.startswith("FAIL"), line) for line in report.lines()],
                      by_clause=list(groups.values()), marks=marks, case_marks=case_marks)


@dataclass
class DiffResult:
    against: PolicyVersion | None
    lines: list[tuple[str, str]]  # (kind: add, del, hunk, meta, same; text)

    @property
    def changed(self) -> bool:
        return any(kind in ("add", "del") for kind, _ in self.lines)


def draft_diff(*, document: str, now: dt.datetime | None = None) -> DiffResult:
    """The unified diff of the draft against the document of the version in force."""
    in_force = version_in_force(at=now or timezone.now())
    old = in_force.document if in_force else ""
    lines = []
    for text in difflib.unified_diff(old.splitlines(), document.splitlines(),
                                     fromfile=str(in_force) if in_force else "(none)", tofile="draft",
                                     lineterm="", n=3):
        if text.startswith(("+++", "---")):
            kind = "meta"
        elif text.startswith("@@"):
            kind = "hunk"
        elif text.startswith("+"):
            kind = "add"
        elif text.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append((kind, text))
    return DiffResult(against=in_force, lines=lines)


# --- the holiday calendar ---------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarYear:
    year: int
    source: str  # "package", "file", "console" or "missing" (BusinessCalendar.source)
    schedule: Schedule | None  # for "file" and "console"
    recorded: HolidaySchedule | None  # for "console": who recorded it, and when


def calendar_years(*, calendar: BusinessCalendar, today: dt.date) -> list[CalendarYear]:
    """Where each year's business days come from: last year to next year, and any year recorded."""
    recorded = {row.year: row for row in
                HolidaySchedule.objects.filter(country=calendar.country).select_related("recorded_by")}
    rows = []
    for year in sorted(set(range(today.year - 1, today.year + 2)) | set(recorded)):
        kind, schedule = calendar.source(year)
        rows.append(CalendarYear(year, kind, schedule, recorded.get(year) if kind == "console" else None))
    return rows


def schedule_initial(*, calendar: BusinessCalendar, year: int | None, today: dt.date) -> dict:
    """What the schedule form starts with: the recorded schedule of `year` as fields (core.calendar.schedule_fields:
    year, source, days_off [(name, first, last)], working_days [date]), or an empty one for `year`, else for the
    first year that is missing."""
    from refunddesk.core.calendar import schedule_fields

    if year is not None:
        row = HolidaySchedule.objects.filter(country=calendar.country, year=year).first()
        if row is not None:
            return {**schedule_fields(row.document), "year": year}
    else:
        year = next((y for y in range(today.year, today.year + 6) if calendar.source(y)[0] == "missing"),
                    today.year + 1)
    return {"year": year, "source": "", "days_off": [], "working_days": []}


@dataclass(frozen=True)
class PackageDays:
    """The `holidays` package's days of one year, beside a schedule for comparison."""

    year: int
    holidays: list[tuple[dt.date, str]]  # (day, name in the page's language)
    working_days: list[dt.date]  # make-up working days (weekend days worked)
    official: bool  # the package has the year's official schedule (for China: its make-up working days)


def package_days(*, country: str, year: int, language: str) -> PackageDays:
    """The public holidays and make-up working days the `holidays` package gives `country` in `year`, named in
    `language` where the package has it. `official` is False for a country with make-up days (China) in a year
    the package has none for: its days are then extrapolated from the rules, not the year's notice."""
    import holidays

    from refunddesk.core.calendar import MAKEUP_DAY_COUNTRIES
    from refunddesk.core.i18n import is_zh

    wanted = "zh_CN" if is_zh(language) else "en_US"
    try:
        probe = holidays.country_holidays(country, years=())
        lang = wanted if wanted in getattr(probe, "supported_languages", ()) else None
        days = holidays.country_holidays(country, years=year, language=lang)
    except NotImplementedError:
        return PackageDays(year, [], [], False)
    working = sorted(d for d in getattr(days, "weekend_workdays", ()) if d.year == year)
    official = bool(working) or country not in MAKEUP_DAY_COUNTRIES
    return PackageDays(year, sorted(days.items()), working, official)

"""Reads on refund requests. Each list runs a fixed number of queries, however many rows it shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from refunddesk.billing.models import Customer, Order
from refunddesk.core.errors import NotFound
from refunddesk.refunds.models import RefundRequest, TimelineEvent
from refunddesk.refunds.states import REFUND_CLOCK, REVIEW_CLOCK, Status

QUEUE_STATES = (Status.IN_REVIEW, Status.DECLINED, Status.WAITING_FOR_CUSTOMER, Status.OFFERED, Status.APPEALED)


def overdue_q(now: dt.datetime) -> Q:
    return (Q(status__in=REVIEW_CLOCK, review_due_at__lt=now)
            | Q(status__in=REFUND_CLOCK, refund_due_at__lt=now))


def is_overdue(req: RefundRequest, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    if req.status in REVIEW_CLOCK and req.review_due_at:
        return req.review_due_at < now
    if req.status in REFUND_CLOCK and req.refund_due_at:
        return req.refund_due_at < now
    return False


def _base() -> QuerySet[RefundRequest]:
    return RefundRequest.objects.select_related("order", "order__plan", "customer", "assignee", "policy_version")


@dataclass(frozen=True)
class QueueFilters:
    status: str | None = None
    reason: str | None = None
    overdue: bool | None = None
    assignee: str | None = None  # a username, "me" or "none"
    gateway: str | None = None
    appeals: bool = False


def queue(*, filters: QueueFilters, user=None, now: dt.datetime | None = None) -> QuerySet[RefundRequest]:
    """The agents' queue, ordered by deadline (soonest first; none last)."""
    now = now or timezone.now()
    rows = _base()
    if filters.appeals:
        rows = rows.filter(status=Status.APPEALED)
    elif filters.status:
        rows = rows.filter(status=filters.status)
    else:
        rows = rows.filter(status__in=QUEUE_STATES)
    if filters.reason:
        rows = rows.filter(reason=filters.reason)
    if filters.gateway:
        rows = rows.filter(order__gateway=filters.gateway)
    if filters.overdue is True:
        rows = rows.filter(overdue_q(now))
    elif filters.overdue is False:
        rows = rows.exclude(overdue_q(now))
    if filters.assignee == "me" and user is not None:
        rows = rows.filter(assignee=user)
    elif filters.assignee == "none":
        rows = rows.filter(assignee__isnull=True)
    elif filters.assignee:
        rows = rows.filter(assignee__username=filters.assignee)
    return rows.order_by(F("review_due_at").asc(nulls_last=True), "submitted_at")


def overdue(*, now: dt.datetime | None = None) -> QuerySet[RefundRequest]:
    now = now or timezone.now()
    return _base().filter(overdue_q(now)).order_by(F("review_due_at").asc(nulls_last=True))


def customer_requests(*, customer: Customer) -> QuerySet[RefundRequest]:
    return _base().filter(customer=customer).select_related("refund").order_by("-submitted_at")


#: The columns a request shows in a customer's list (refunds.api: RequestOut without its timeline).
LIST_COLUMNS = (
    "public_id", "order__external_id", "reason", "description", "status", "submitted_at", "review_due_at",
    "refund_due_at", "currency", "policy_version__policy_id", "policy_version__version", "policy_outcome",
    "policy_clause", "policy_amount_minor", "policy_explanation", "offered_amount_minor", "approved_amount_minor",
    "redirect_instructions", "refund__status", "refund__amount_minor", "refund__currency", "refund__gateway",
    "refund__arrival_by",
)


def customer_request_list(*, customer: Customer) -> QuerySet[RefundRequest]:
    """A customer's requests, newest first, with only the columns the list shows (LIST_COLUMNS: one query of
    three joins, not the 120 columns of five tables; a column outside them costs a query per row when read)."""
    return (RefundRequest.objects.filter(customer=customer)
            .select_related("order", "policy_version", "refund").only(*LIST_COLUMNS).order_by("-submitted_at"))


def customer_request_shown(*, customer: Customer, public_id: str) -> RefundRequest:
    """One of the customer's requests as the API shows it: the list's columns (LIST_COLUMNS) and the timeline
    the customer may see, in three queries. Raises NotFound (another customer's request looks missing)."""
    req = (customer_request_list(customer=customer).filter(public_id=public_id)
           .prefetch_related(Prefetch("timeline", queryset=TimelineEvent.objects.filter(visible_to_customer=True)))
           .first())
    if req is None:
        raise NotFound(_("There is no refund request %(id)s in your account.") % {"id": public_id})
    return req


def customer_request(*, customer: Customer, public_id: str) -> RefundRequest:
    req = (_base().select_related("refund").filter(customer=customer, public_id=public_id)
           .prefetch_related(Prefetch("timeline", queryset=TimelineEvent.objects.filter(visible_to_customer=True)),
                             "evidence").first())
    if req is None:
        raise NotFound(_("There is no refund request %(id)s in your account.") % {"id": public_id})
    return req


def staff_request(*, public_id: str) -> RefundRequest:
    req = (_base().select_related("refund").filter(public_id=public_id)
           .prefetch_related(Prefetch("timeline", queryset=TimelineEvent.objects.select_related("actor")),
                             "evidence", "mediations").first())
    if req is None:
        raise NotFound(_("There is no refund request %(id)s.") % {"id": public_id})
    return req


def customer_history(*, customer: Customer, exclude_pk: int | None = None) -> QuerySet[RefundRequest]:
    return _base().filter(customer=customer).exclude(pk=exclude_pk).select_related("refund").order_by("-submitted_at")


# --- frequent refunder and use during review ---------------------------------------------------------

#: Where the case page warns, unless the policy that decided the request compares the fact with its own number.
FREQUENT_REQUESTS = 3
REFUNDED_SHARE = 0.5


@dataclass(frozen=True)
class Signal:
    """A warning on the case page: which fact triggered it (`fact`, contract v1 name or "requests") and what
    the agent reads (`text`, in the page's language, with the figures and the limit)."""

    fact: str
    text: str


def refunder_signals(req: RefundRequest, *, now: dt.datetime | None = None) -> list[Signal]:
    """What makes this request's customer or its usage worth a second look, each with what triggered it
    (seed 000, FAQ Q4: heavy use while a request is under review may affect the result):

    * the customer asked for FREQUENT_REQUESTS or more refunds in the last 365 days;
    * customer.refunded_share (now) at or above the policy's lowest threshold for it (else REFUNDED_SHARE),
      with at least two orders in the year;
    * for an open request: usage reported since its submission (usage.since_request_days /
      _quota_ratio: the current usage minus the usage stored in its facts), and when the deciding
      policy version, deciding again on today's facts, lands on a clause that reads those facts, that
      clause and its outcome.

    At most nine queries (the facts of refunds.facts, the counts of requests and orders). Never raises: a policy that cannot
    decide on today's facts adds nothing."""
    from decimal import Decimal

    from django.utils.translation import get_language

    from refunddesk.core.dates import format_date
    from refunddesk.core.errors import ApplicationError
    from refunddesk.core.i18n import is_zh
    from refunddesk.policies import engine
    from refunddesk.policies.facts import number_text, share_text
    from refunddesk.policies.services import compiled
    from refunddesk.refunds.facts import facts_for_order
    from refunddesk.refunds.states import OPEN

    now = now or timezone.now()
    language = "zh-hans" if is_zh(get_language()) else "en"
    signals: list[Signal] = []
    asked = RefundRequest.objects.filter(customer_id=req.customer_id,
                                         submitted_at__gte=now - dt.timedelta(days=365)).count()
    if asked >= FREQUENT_REQUESTS:
        signals.append(Signal("requests", _("Frequent refunder: %(n)s requests in the last 365 days (the warning "
                                            "starts at %(limit)s). Check their history below before deciding.")
                              % {"n": asked, "limit": FREQUENT_REQUESTS}))
    stored = (req.facts or {}).get("usage") or {}
    then = None
    if req.status in OPEN and "days_used" in stored:
        then = {req.order_id: (Decimal(str(stored["days_used"])), float(stored.get("quota_used_ratio", 0)))}
    try:
        facts = facts_for_order(order=req.order, reason=req.reason, now=now, submitted_at=req.submitted_at,
                                **({"usage_at_submission": then} if then else {}))
    except ApplicationError:
        return signals
    policy = None
    if req.policy_version_id:
        try:
            policy = compiled(req.policy_version)
        except ApplicationError:
            policy = None
    share = facts["customer"]["refunded_share"]
    limits = policy.thresholds("customer.refunded_share") if policy is not None else ()
    share_limit = min(limits) if limits else REFUNDED_SHARE
    orders = (Order.objects.filter(customer_id=req.customer_id, purchased_at__gte=now - dt.timedelta(days=365),
                                   purchased_at__lte=now).count() if share >= share_limit else 0)
    if share >= share_limit and orders >= 2:
        signals.append(Signal("customer.refunded_share", _(
            "Frequent refunder: %(share)s of this customer's orders of the last 365 days were refunded (the "
            "warning starts at %(limit)s).") % {"share": share_text(share), "limit": share_text(share_limit)}))
    if then:
        days = Decimal(facts["usage"]["since_request_days"])
        quota = facts["usage"]["since_request_quota_ratio"]
        if days > 0 or quota > 0:
            signals.append(Signal("usage.since_request_days", _(
                "Used during the review: %(days)s days of service and %(quota)s of the quota since the request "
                "was submitted on %(date)s.") % {"days": number_text(days), "quota": share_text(quota),
                                                  "date": format_date(req.submitted_at, language)}))
            if policy is not None:
                try:
                    decision = engine.evaluate(policy, facts)
                except engine.EvaluationError:
                    decision = None
                if decision is not None and decision.clause != req.policy_clause:
                    rule = policy.clause(decision.clause)
                    if "usage.since_request" in getattr(rule, "condition", ""):
                        signals.append(Signal("usage.since_request_quota_ratio", _(
                            "Decided again with this use, the policy's clause %(clause)s says: %(outcome)s "
                            "(it said %(before)s at submission).")
                            % {"clause": decision.clause, "outcome": _outcome_word(decision.outcome),
                               "before": _outcome_word(req.policy_outcome)}))
    return signals


def _outcome_word(outcome: str) -> str:
    """A policy outcome in the page's language (the words the console uses)."""
    words = {"approve": _("approve"), "reject": _("reject"), "review": _("review"), "redirect": _("redirect")}
    return words.get(outcome, outcome)

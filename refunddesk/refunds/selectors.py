"""Reads on refund requests. Each list runs a fixed number of queries, however many rows it shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from refunddesk.billing.models import Customer
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


def frequent_refunder(*, customer: Customer, now: dt.datetime | None = None, threshold: int = 3) -> bool:
    now = now or timezone.now()
    return RefundRequest.objects.filter(
        customer=customer, submitted_at__gte=now - dt.timedelta(days=365),
    ).count() >= threshold

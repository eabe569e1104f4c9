"""Reads for the customer portal. Nothing here writes.

`policy_preview` answers "what would the policy say if I applied now?" for an order
(`order_previews` for many, in a fixed number of queries): it decides exactly as a submission
would, through the one way in (refunds.intake: the facts, the version that would decide, the
evaluation and the effective outcome), for every reason a customer can give, and groups the
reasons that get the same answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from refunddesk.billing.models import Customer, Order
from refunddesk.core.errors import ApplicationError, NotFound
from refunddesk.core.money import Money
from refunddesk.policies.models import PolicyVersion
from refunddesk.policies.selectors import Citation, clause_citation
from refunddesk.refunds import intake, lifecycle
from refunddesk.refunds import selectors as refund_selectors
from refunddesk.refunds.facts import Row
from refunddesk.refunds.intake import STORE_INSTRUCTIONS
from refunddesk.refunds.models import Evidence, Reason, RefundRequest
from refunddesk.refunds.states import (
    NO_ANSWER_WAITS,
    OPEN,
    REFUND_CLOCK,
    REVIEW_CLOCK,
    Actor,
    Status,
    actions_available,
)

OUTCOME_LABELS = {
    "approve": _("Refund approved at once"),
    "reject": _("No refund"),
    "review": _("A person reviews it"),
    "redirect": _("Ask the store that sold it"),
}

# The timeline, told to the customer.
TIMELINE_LABELS = {
    "submit": _("You applied"),
    "policy_approve": _("Approved by the refund policy"),
    "policy_reject": _("Not approved by the refund policy"),
    "policy_redirect": _("Sent to the store that sold it"),
    "policy_review": _("Sent to a person for review"),
    "ask_info": _("We asked you for more information"),
    "reply": _("You answered"),
    "offer": _("We offered a refund"),
    "accept_offer": _("You accepted the offer"),
    "decline_offer": _("You declined the offer"),
    "approve": _("Approved"),
    "reject": _("Not approved"),
    "appeal": _("You appealed"),
    "withdraw": _("You withdrew the request"),
    "appeal_approve": _("Appeal upheld"),
    "appeal_reject": _("Appeal rejected (final decision)"),
    "refund_start": _("Refund started"),
    "refund_succeed": _("Refund paid"),
    "refund_fail": _("The refund failed; our finance team is on it"),
    "refund_retry": _("Refund sent again"),
    "refund_reverse": _("The refund came back from the bank; our finance team is on it"),
    "mediation": _("Mediation recorded"),
    "reapply": _("You applied again; this request is closed"),
    "no_answer_reminder": _("We reminded you that we are waiting for your answer"),
    "no_answer_close": _("Closed: we had no answer from you in time"),
    "no_answer_review": _("No answer in time: we decide on what we have"),
    "no_answer_accept": _("No answer in time: the offer counts as accepted"),
    "no_answer_decline": _("No answer in time: the offer counts as declined"),
    "customer_message": _("You wrote to us"),
    "staff_message": _("We wrote to you"),
}


def customer_of(user) -> Customer | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.customer
    except Customer.DoesNotExist:
        return None


# --- "what would the policy say now" ----------------------------------------------------------


@dataclass(frozen=True)
class PreviewGroup:
    reasons: tuple[str, ...]  # reason codes
    reason_labels: tuple[str, ...]
    outcome: str
    clause: str
    amount: Money | None
    explanation: dict  # {"en": ..., "zh": ...}
    version: PolicyVersion | None = None  # the version that would decide

    @property
    def outcome_label(self) -> str:
        return str(OUTCOME_LABELS.get(self.outcome, self.outcome))

    @property
    def citation(self) -> Citation | None:
        """The rule that would decide, in the page's language, with a link to it in the policy."""
        return clause_citation(self.version, self.clause, get_language() or "zh-hans")


@dataclass(frozen=True)
class Preview:
    groups: tuple[PreviewGroup, ...] = ()
    version: PolicyVersion | None = None  # the policy version that would decide
    store: str = ""  # for a store purchase: the store that refunds it
    error: str = ""  # why there is no preview (no policy published yet ...)

    def for_reason(self, reason: str) -> PreviewGroup | None:
        return next((g for g in self.groups if reason in g.reasons), None)

    @property
    def nothing_refundable(self) -> bool:
        """Whatever the reason, the policy would refund nothing here (every answer a refusal or the store)."""
        return bool(self.groups) and all(g.outcome in ("reject", "redirect") for g in self.groups)

    @property
    def store_only(self) -> bool:
        """Every answer sends the customer to the store that sold the order."""
        return bool(self.groups) and all(g.outcome == "redirect" for g in self.groups)


def policy_preview(*, order: Order, now: dt.datetime | None = None) -> Preview:
    """What the policy that would decide says now, for each reason; read-only."""
    return order_previews(orders=[order], now=now)[order.pk]


def _store_preview(order: Order) -> Preview:
    info = STORE_INSTRUCTIONS[order.sales_channel]
    reasons = tuple(Reason.values)
    return Preview(groups=(PreviewGroup(
        reasons=reasons, reason_labels=tuple(str(Reason(r).label) for r in reasons), outcome="redirect",
        clause="", amount=None, explanation={"en": info["en"], "zh": info["zh"]}),), store=info["store"])


def order_previews(*, orders: list[Order], now: dt.datetime | None = None) -> dict[int, Preview]:
    """`policy_preview` for each order, by order id; the same few queries however many orders."""
    now = now or timezone.now()
    out = {o.pk: _store_preview(o) for o in orders if o.sales_channel in STORE_INSTRUCTIONS}
    rest = [o for o in orders if o.pk not in out]
    if not rest:
        return out
    try:
        first = intake.decide_orders([Row.of(o) for o in rest], reason=Reason.values[0], now=now, submitted_at=now)
    except ApplicationError as exc:
        return {**out, **{o.pk: Preview(error=str(exc.message)) for o in rest}}
    for order in rest:
        try:
            out[order.pk] = _preview(order, first[order.pk])
        except ApplicationError as exc:
            out[order.pk] = Preview(error=str(exc.message))
    return out


def _preview(order: Order, first: intake.Decided) -> Preview:
    version, facts = first.version, first.facts
    groups: dict[tuple, list] = {}
    for reason in Reason.values:
        facts["request"]["reason"] = reason
        decided = first if reason == Reason.values[0] else intake.evaluate_facts(
            version=version, facts=facts, sales_channel=order.sales_channel)
        decision = decided.decision
        key = (decided.outcome, decision.clause, decision.amount, decision.explanation.en, decision.explanation.zh)
        groups.setdefault(key, []).append(reason)
    out = [
        PreviewGroup(reasons=tuple(reasons), reason_labels=tuple(str(Reason(r).label) for r in reasons),
                     outcome=outcome, clause=clause, amount=amount, explanation={"en": en, "zh": zh}, version=version)
        for (outcome, clause, amount, en, zh), reasons in groups.items()
    ]
    return Preview(groups=tuple(out), version=version)


# --- orders -----------------------------------------------------------------------------------


@dataclass
class OrderRow:
    order: Order
    requests: list[RefundRequest]
    open_request: RefundRequest | None  # the order's request that holds it (no new one meanwhile), if any
    preview: Preview | None
    earlier: RefundRequest | None = None  # an open rejection that no longer holds it: applying again closes it

    @property
    def can_apply(self) -> bool:
        return self.open_request is None and self.order.refundable_remaining.minor > 0


def _holding(reqs: list[RefundRequest], now: dt.datetime) -> tuple[RefundRequest | None, RefundRequest | None]:
    """(the open request that holds the order, an open rejection that no longer does) among `reqs`."""
    open_req = next((r for r in reqs if r.status in OPEN), None)
    if open_req is None:
        return None, None
    if lifecycle.holds(open_req, now=now):
        return open_req, None
    return None, open_req


def customer_orders(*, customer: Customer, now: dt.datetime | None = None, with_preview: bool = True) -> list[OrderRow]:
    """The customer's orders, newest first, each with its requests and (when one can apply) the preview."""
    now = now or timezone.now()
    orders = list(Order.objects.filter(customer=customer).select_related("plan").order_by("-purchased_at"))
    by_order: dict[int, list[RefundRequest]] = {}
    for req in RefundRequest.objects.filter(customer=customer).select_related("policy_version").only(
            "id", "public_id", "status", "order_id", "submitted_at", "decided_at", "appeal_due_at",
            "decision_clause", "policy_clause", "policy_version").order_by("-submitted_at"):
        by_order.setdefault(req.order_id, []).append(req)
    rows = []
    for order in orders:
        reqs = by_order.get(order.pk, [])
        open_req, earlier = _holding(reqs, now)
        rows.append(OrderRow(order=order, requests=reqs, open_request=open_req, preview=None, earlier=earlier))
    if with_preview:
        previews = order_previews(orders=[row.order for row in rows if row.can_apply], now=now)
        for row in rows:
            row.preview = previews.get(row.order.pk)
    return rows


def customer_order(*, customer: Customer, order_number: str) -> Order:
    order = Order.objects.select_related("plan").filter(customer=customer, external_id=order_number).first()
    if order is None:
        raise NotFound(_("There is no order %(number)s in your account.") % {"number": order_number})
    return order


def open_request_for(*, order: Order, now: dt.datetime | None = None) -> tuple[RefundRequest | None,
                                                                               RefundRequest | None]:
    """(the request holding `order`, an open rejection that no longer holds it and that applying again
    closes): see states.holds_order."""
    reqs = list(RefundRequest.objects.filter(order=order, status__in=OPEN).select_related("policy_version"))
    return _holding(reqs, now or timezone.now())


# --- requests ---------------------------------------------------------------------------------


def customer_requests(*, customer: Customer) -> QuerySet[RefundRequest]:
    """The customer's requests, newest first: a fixed number of queries however many there are."""
    return refund_selectors.customer_requests(customer=customer)


@dataclass
class RequestPage:
    req: RefundRequest
    refund: object | None
    actions: frozenset[str]
    events: list
    evidence: list[Evidence]
    clock: str  # "review", "paused", "appeal", "refund" or ""
    question: str = ""  # the agent's last request for information
    offer_note: str = ""  # what the agent wrote with the last offer
    appeal_until: dt.datetime | None = None  # a rejection: until when it may be appealed
    reapply_at_once: bool = False  # a rejection whose clause lets the customer apply again at once
    can_apply_again: bool = False  # a rejection that no longer holds the order: the customer may apply again
    later: RefundRequest | None = None  # a request closed by applying again: the one that replaced it
    no_answer: str = ""  # waiting for the customer: what the policy does without an answer (close, review, ...)

    @property
    def policy_citation(self) -> Citation | None:
        """The rule the policy decided by, in the page's language, linked to the version that decided."""
        return clause_citation(self.req.policy_version, self.req.policy_clause, get_language() or "zh-hans")

    @property
    def decision_citation(self) -> Citation | None:
        """The rule the person who decided cited, in the page's language."""
        return clause_citation(self.req.policy_version, self.req.decision_clause, get_language() or "zh-hans")

    @property
    def policy_sent_to_review_earlier(self) -> bool:
        """The policy sent the request to a person and that review is over: its explanation ("a member of our
        team will look at your request") is no longer true, and is told in the past instead."""
        return self.req.policy_outcome == "review" and self.req.status not in (Status.SUBMITTED, Status.IN_REVIEW)


def customer_request_page(*, customer: Customer, public_id: str) -> RequestPage:
    req = refund_selectors.customer_request(customer=customer, public_id=public_id)
    try:
        refund = req.refund
    except RefundRequest.refund.RelatedObjectDoesNotExist:
        refund = None
    timeline = list(req.timeline.all())
    language = get_language() or "zh-hans"
    events = [{"event": e, "label": TIMELINE_LABELS.get(e.action, e.action),
               # a review is cited by the status panel while it lasts (its rule speaks of what will happen)
               "citation": clause_citation(req.policy_version, e.clause, language)
               if e.clause and e.action != "policy_review" else None,
               # what the policy said is in the page's language in "The policy's decision" (the event holds it in
               # the request's); its "a person will look at it" would outlive the review
               "note": "" if e.action == "submit" or e.action.startswith("policy_") else e.note}
              for e in timeline]
    if req.status == Status.WAITING_FOR_CUSTOMER:
        clock = "paused"
    elif req.status == Status.APPEALED:
        clock = "appeal"
    elif req.status in REVIEW_CLOCK:
        clock = "review"
    elif req.status in REFUND_CLOCK:
        clock = "refund"
    else:
        clock = ""
    question = next((e.note for e in reversed(timeline) if e.action == "ask_info"), "")
    offer_note = next((e.note for e in reversed(timeline) if e.action == "offer"), "")
    now = timezone.now()
    actions = {m.action for m in actions_available(req.status, Actor.CUSTOMER)} - {"reapply"}
    appeal_until = reapply = can_apply_again = None
    if req.status == Status.REJECTED:
        appeal_until = lifecycle.appeal_due(req)
        reapply = lifecycle.reapply_at_once(req)
        can_apply_again = not lifecycle.holds(req, now=now) and req.order.refundable_remaining.minor > 0
        if appeal_until is not None and now >= appeal_until:
            actions.discard("appeal")
    no_answer = ""
    if req.status in NO_ANSWER_WAITS:
        rule = lifecycle.no_answer_rule(req)
        no_answer = rule.outcome(req.status) if rule is not None else ""
    later = None
    if req.status == Status.SUPERSEDED:
        later = (RefundRequest.objects.filter(order_id=req.order_id, submitted_at__gt=req.submitted_at)
                 .only("public_id", "status").order_by("submitted_at").first())
    return RequestPage(
        req=req, refund=refund, events=events, evidence=list(req.evidence.all()), clock=clock,
        question=question, offer_note=offer_note, actions=frozenset(actions), appeal_until=appeal_until,
        reapply_at_once=bool(reapply), can_apply_again=bool(can_apply_again), later=later, no_answer=no_answer,
    )


def customer_evidence(*, customer: Customer, public_id: str, pk: int) -> Evidence:
    ev = Evidence.objects.filter(pk=pk, request__public_id=public_id, request__customer=customer).first()
    if ev is None:
        raise NotFound(_("There is no such file."))
    return ev

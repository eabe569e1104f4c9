"""One way through: how a refund request moves once it exists.

Everything that changes a request's state goes through `move` (the one state machine of states.py, an
append-only timeline event, the deadline clocks); a timeline entry without a change of state is a
`timeline_note`;
what a move does to the deadlines is `clocks` (also replayed by `services.deadlines_fill`); the customer's
emails go through `email_customer`, queued in the caller's transaction.

Money: when a request is approved, `approve_money` asks refund execution to start, in the same
transaction, by the `money_requested` signal (payments connects its receiver in its AppConfig.ready, so
this module imports nothing of payments); refund execution tells the request what became of the money
through the one entry point `money_moved`. Payments depends on this module, never the reverse.

Callers hold the request's row lock (select_for_update) and run inside transaction.atomic.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.dispatch import Signal
from django.utils import timezone

from refunddesk.core import queued
from refunddesk.core.dates import format_date
from refunddesk.core.errors import ConfigurationError
from refunddesk.notify.services import email_enqueue, emails_batched
from refunddesk.refunds import deadlines
from refunddesk.refunds.models import RefundRequest, TimelineEvent
from refunddesk.refunds.states import NO_ANSWER_WAITS, OPEN, Actor, Status, holds_order, move_for

log = logging.getLogger(__name__)

#: Sent (inside the approving transaction, the request locked) when a request is approved and its money
#: must go back: keyword arguments `request` (RefundRequest) and `now`. Refund execution (payments) creates
#: the refund and answers why the money is held (a gateway not configured here), or None when it is on its
#: way. Exactly one receiver is expected.
money_requested = Signal()

#: Sent by services.deadlines_fill once requests have the deadlines a newly known holiday year allows: other
#: dates that needed it are filled by their owners (payments: the arrival date of paid refunds). Each receiver
#: answers the list of what it filled (request numbers, or "refund N").
deadlines_filled = Signal()

#: Sent (in the caller's transaction) for every notice to a customer about a request, before the default email:
#: keyword arguments `request`, `kind` (notify.services.KINDS) and `context` (the email's context). A receiver
#: that delivers it itself (channels: the channel the customer uses, the site inbox) answers True; with no
#: such answer the notice is emailed as before.
customer_told = Signal()

#: What refund execution can tell a request (`money_moved`): event -> (state machine action or None for a
#: timeline entry without a move, the customer's email kind or None).
MONEY_EVENTS: dict[str, tuple[str | None, str | None]] = {
    "started": ("refund_start", None),
    "succeeded": ("refund_succeed", "refund_sent"),
    "failed": ("refund_fail", "refund_failed"),
    "retried": ("refund_retry", None),
    "reversed": ("refund_reverse", "refund_reversed"),
    "finance_note": (None, None),
}


# --- moving -----------------------------------------------------------------------------------


def move(
    req: RefundRequest, *, action: str, actor_kind: str, user=None, note: str = "", clause: str = "",
    amount_minor: int | None = None, override: bool = False, visible: bool = True, now: dt.datetime,
    data: dict | None = None,
) -> TimelineEvent:
    """The one place a request changes state: `action` (a move of states.MOVES) by `actor_kind` (Actor) from
    the request's status, its deadlines kept (`clocks`), `decided_at` stamped for a decision, and an
    append-only timeline event (who, when, from, to, why, the clause, the amount in minor units).

    Raises IllegalTransition (409) naming what is possible when the move is not allowed from here or not
    to this actor."""
    step = move_for(action, req.status, actor_kind)
    source, target = req.status, step.target
    notes = dict(data or {})
    clocks(req, source, target, now, notes)
    if target in (Status.APPROVED, Status.ACCEPTED, Status.REJECTED, Status.REDIRECTED, Status.REJECTED_FINAL):
        req.decided_at = now
    req.status = target
    _save(req)
    return _event(TimelineEvent(
        request=req, at=now, actor=user, actor_kind=actor_kind, action=action, from_status=source,
        to_status=target, note=note, clause=clause, amount_minor=amount_minor, override=override,
        visible_to_customer=visible, data=notes,
    ))


def timeline_note(req: RefundRequest, *, action: str, actor_kind: str, user=None, note: str = "", visible: bool = True,
         now: dt.datetime, data: dict | None = None) -> TimelineEvent:
    """A timeline entry without a change of state (a message, an assignment, a mediation, finance's note)."""
    return _event(TimelineEvent(
        request=req, at=now, actor=user, actor_kind=actor_kind, action=action, from_status=req.status,
        to_status=req.status, note=note, visible_to_customer=visible, data=data or {},
    ))


_batch = threading.local()


def _save(req: RefundRequest) -> None:
    requests = getattr(_batch, "requests", None)
    if requests is None:
        req.save()
    else:
        requests[req.pk] = req  # written with the others at the end of the batch (one UPDATE per few hundred)


def _event(event: TimelineEvent) -> TimelineEvent:
    events = getattr(_batch, "events", None)
    if events is None:
        event.save(force_insert=True)
    else:
        events.append(event)  # written at the end of the batch (it has no id until then)
    return event


@contextmanager
def batch():
    """Many requests moved in one transaction (intake.decisions_apply): the timeline events of every move
    inside are written in one INSERT at the end, the customers' emails queued as one task
    (notify.services.emails_batched) and the tasks queued through core.queued in one INSERT; the business
    calendar is looked up once (deadlines.pinned). Nothing is
    written when the block raises. The requests moved are written at the end too, together (bulk_update):
    inside, the database does not see their moves yet, and an event returned by `move` has no id."""
    if getattr(_batch, "events", None) is not None:
        yield
        return
    _batch.events, _batch.requests = [], {}
    try:
        with queued.batched(), emails_batched(), deadlines.pinned():
            yield
            events, requests = _batch.events, list(_batch.requests.values())
            _batch.events = _batch.requests = None
            if requests:
                stamp = timezone.now()
                for req in requests:
                    req.updated_at = stamp  # auto_now, which bulk_update does not apply
                RefundRequest.objects.bulk_update(requests, fields=RefundRequest.saved_fields(), batch_size=500)
            TimelineEvent.objects.bulk_create(events, batch_size=1000)
    finally:
        _batch.events = _batch.requests = None


# --- deadlines ----------------------------------------------------------------------------------


def review_days(req: RefundRequest) -> int:
    """Business days for the review: the deciding policy's (stored with the facts), else the setting."""
    return int(req.facts.get("_review_business_days") or settings.REFUNDDESK_REVIEW_BUSINESS_DAYS)


def refund_days(req: RefundRequest) -> int:
    """Business days to send an approved refund: the deciding policy's, else the setting."""
    return int(req.facts.get("_refund_business_days") or settings.REFUNDDESK_REFUND_BUSINESS_DAYS)


def appeal_days() -> int:
    """Business days after a rejection in which it may be appealed (settings.REFUNDDESK_APPEAL_BUSINESS_DAYS)."""
    return int(settings.REFUNDDESK_APPEAL_BUSINESS_DAYS)


def _set_deadline(req: RefundRequest, attr: str, compute: Callable[[], dt.datetime], notes: dict) -> None:
    """req.<attr> = compute(); when a year it needs has no holiday schedule, no deadline and a flag in the
    timeline event's notes (`deadlines_fill` computes it later) - never a refusal of what the person did."""
    try:
        setattr(req, attr, compute())
    except ConfigurationError as exc:
        setattr(req, attr, None)
        notes["deadline_error"] = str(exc)
        log.warning("deadline not computed for %s: %s", req.public_id, exc)


def clocks(req: RefundRequest, source: str, target: str, now: dt.datetime, notes: dict) -> None:
    """What a move from `source` to `target` at `now` does to the request's deadlines (business days on the
    merchant's holiday calendar, seed 000 "1-3个工作日内(节假日顺延)"): the one rule, used by every move and
    by `deadlines_fill`'s replay of a request's history. Never raises for a missing holiday year."""
    if target == Status.IN_REVIEW and source == Status.SUBMITTED:
        _set_deadline(req, "review_due_at", lambda: deadlines.due_after(req.submitted_at, review_days(req)), notes)
    if target == Status.WAITING_FOR_CUSTOMER:
        req.paused_at = now
    if source == Status.WAITING_FOR_CUSTOMER and req.paused_at:
        if req.review_due_at:
            due, paused = req.review_due_at, req.paused_at
            _set_deadline(req, "review_due_at", lambda: deadlines.extend_for_pause(due, paused, now), notes)
        notes["paused_from"] = req.paused_at.isoformat()
        req.paused_at = None
    if target == Status.APPEALED:
        _set_deadline(req, "review_due_at", lambda: deadlines.due_after(now, review_days(req)), notes)
    if target in (Status.APPROVED, Status.ACCEPTED):
        _set_deadline(req, "refund_due_at", lambda: deadlines.due_after(now, refund_days(req)), notes)
    if target == Status.REJECTED:
        _set_deadline(req, "appeal_due_at", lambda: deadlines.due_after(now, appeal_days()), notes)
    if source in NO_ANSWER_WAITS or target in NO_ANSWER_WAITS:
        req.answer_remind_at = req.answer_due_at = req.answer_reminded_at = None
    if target in NO_ANSWER_WAITS:
        rule = no_answer_rule(req)
        if rule is not None:
            _set_deadline(req, "answer_remind_at", lambda: deadlines.due_after(now, rule.remind_after), notes)
            _set_deadline(req, "answer_due_at", lambda: deadlines.due_after(now, rule.close_after), notes)


def no_answer_rule(req: RefundRequest):
    """What happens when the customer does not answer (policies.policy.NoAnswer), from the policy version that
    decided the request, else (a version published before `no_answer` existed, or none) the version in force;
    None when neither says: the request then waits for the customer as long as it takes."""
    from refunddesk.policies.services import compiled, version_in_force

    if req.policy_version_id is not None:
        rule = compiled(req.policy_version).no_answer
        if rule is not None:
            return rule
    from django.utils import timezone

    current = version_in_force(at=timezone.now())
    return compiled(current).no_answer if current is not None else None


# --- applying again after a rejection -------------------------------------------------------------


def rejecting_clause(req: RefundRequest) -> str:
    """The clause a rejection rests on: the one the person who decided cited, else the policy's."""
    return req.decision_clause or req.policy_clause


def reapply_at_once(req: RefundRequest) -> bool:
    """Whether the clause that rejected `req` lets the customer apply again at once (the policy's `reapply`),
    read from the policy version that decided it."""
    if req.policy_version_id is None:
        return False
    from refunddesk.policies.services import compiled

    try:
        return compiled(req.policy_version).clause(rejecting_clause(req)).reapply
    except KeyError:  # a clause the version does not have (the cited clause is checked when cited)
        return False


def appeal_due(req: RefundRequest) -> dt.datetime | None:
    """Until when a rejection may be appealed: `appeal_due_at`, or for a request rejected before it was stored,
    the same rule from its decision (None when the holiday year it needs has no schedule yet)."""
    if req.appeal_due_at is not None or req.decided_at is None or req.status != Status.REJECTED:
        return req.appeal_due_at
    try:
        return deadlines.due_after(req.decided_at, appeal_days())
    except ConfigurationError:
        return None


def holds(req: RefundRequest, *, now: dt.datetime) -> bool:
    """Whether `req` keeps its order from a new request now (states.holds_order)."""
    if req.status not in OPEN:
        return False
    return holds_order(req.status, reapply=req.status == Status.REJECTED and reapply_at_once(req),
                       appeal_due_at=appeal_due(req), now=now)


# --- telling the customer -----------------------------------------------------------------------


def request_link(req: RefundRequest) -> str:
    """The request's page in the portal, absolute (settings.SITE_URL), for emails."""
    return f"{settings.SITE_URL}/portal/requests/{req.public_id}/"


def email_customer(req: RefundRequest, kind: str, **context: Any) -> None:
    """Queue the customer's email `kind` (notify.services.KINDS) in the request's language, in the caller's
    transaction: it exists exactly when the change it reports is committed. A `clause` in `context` (an id) is
    told as the rule in the policy's words with a link to it (`clause`, `clause_link`), never as its id; a
    rejection says until when it may be appealed (`appeal_until`) and whether the customer may apply again at
    once (`reapply`)."""
    from refunddesk.policies.selectors import clause_citation
    from refunddesk.policies.versions import published

    customer = req.customer
    if context.get("clause"):
        # the version from the list each process holds (policies.versions), not a query per email
        version = (req.policy_version if "policy_version" in req._state.fields_cache
                   else published().get(req.policy_version_id))
        if version is None and req.policy_version_id is not None:
            version = req.policy_version
        cite = clause_citation(version, context["clause"], req.language)
        context["clause"], context["clause_link"] = (cite.text, settings.SITE_URL + cite.url) if cite else ("", "")
    if context.get("outcome") == "rejected" and req.status == Status.REJECTED:
        context.update(appeal_until=format_date(appeal_due(req), req.language), reapply=reapply_at_once(req))
    context = {"req": req, "name": customer.name or customer.email, "link": request_link(req), **context}
    if any(answer for _receiver, answer in customer_told.send(sender=RefundRequest, request=req, kind=kind,
                                                               context=context)):
        return
    email_enqueue(to=customer.email, kind=kind, language=req.language, context=context)


# --- money ----------------------------------------------------------------------------------------


def approve_money(req: RefundRequest, *, now: dt.datetime) -> str | None:
    """Hand an approved request's money to refund execution, in the approving transaction (`money_requested`).
    Returns why the money is held (in English, for staff), or None when it is on its way. Raises
    ConfigurationError when no refund execution is installed, and whatever refusal the receiver raises
    (Conflict: more than is left on the order; the store's own refunds)."""
    answers = money_requested.send(sender=RefundRequest, request=req, now=now)
    if not answers:
        raise ConfigurationError("no refund execution is installed: approved money cannot go back "
                                 "(refunddesk.payments must be in INSTALLED_APPS)")
    return answers[0][1]


def approve(req: RefundRequest, *, action: str, actor_kind: str, now: dt.datetime, email_kind: str,
            user=None, note: str = "", clause: str = "", amount_minor: int, override: bool = False,
            data: dict | None = None) -> str | None:
    """Approve `req` for `amount_minor` (minor units of req.currency) by `action` (policy_approve, approve,
    appeal_approve, accept_offer is not one: see services), start the money and tell the customer, whose
    email never promises money that cannot move (`held`). Returns why the money is held, or None."""
    req.approved_amount_minor = amount_minor
    move(req, action=action, actor_kind=actor_kind, user=user, note=note, clause=clause, amount_minor=amount_minor,
         override=override, now=now, data=data)
    held = approve_money(req, now=now)
    email_customer(req, email_kind, outcome="approved", reason=note, clause=clause,
                   amount=req.approved_amount.format(req.language), held=held is not None)
    return held


def money_moved(*, request: RefundRequest, event: str, now: dt.datetime, refund: Any = None, user=None,
                note: str = "", data: dict | None = None) -> TimelineEvent:
    """The one way refund execution tells a request what became of its money. `event` is a key of
    MONEY_EVENTS: "started", "succeeded", "failed", "retried", "reversed" (a refund that had succeeded
    failed at the gateway afterwards), "finance_note" (staff only). `refund` is the payments Refund (read for
    its amount, idempotency key, gateway reference and arrival estimate); `user` is the finance person when a
    person did it (the actor is then Finance, else System). Locks the request, moves it (or, for a reversal
    while the order already has another open request, adds a visible timeline entry instead: one open
    request per order) and queues the customer's email. "started" is told inside the approving transaction
    and moves the caller's (locked) request object itself. Raises IllegalTransition for a move the state
    machine refuses."""
    action, email_kind = MONEY_EVENTS[event]
    if event == "started":  # inside the approving transaction: the caller's locked object moves on
        req = request
    else:
        req = RefundRequest.objects.select_for_update(of=("self",), no_key=True).select_related("order", "customer").get(pk=request.pk)
    actor = Actor.FINANCE if user is not None else Actor.SYSTEM
    notes = dict(data or {})
    amount_minor = getattr(refund, "amount_minor", None)
    if event == "finance_note":
        return timeline_note(req, action="finance_note", actor_kind=Actor.FINANCE, user=user, note=note,
                                 visible=False, now=now, data=notes)
    if event == "succeeded":
        notes.update(gateway_ref=refund.gateway_ref,
                     arrival_by=refund.arrival_by.isoformat() if refund.arrival_by else None)
    if event in ("failed", "reversed"):
        notes.setdefault("reason", note)
    if event == "reversed":
        notes.update(refund=refund.idempotency_key, amount=str(refund.amount))
        other_open = RefundRequest.objects.filter(order_id=req.order_id, status__in=OPEN).exclude(pk=req.pk).exists()
        if req.status != Status.REFUNDED or other_open:
            entry = timeline_note(req, action=action, actor_kind=Actor.SYSTEM, note=note, now=now, data=notes)
            _money_email(req, email_kind, refund)
            return entry
    entry = move(req, action=action, actor_kind=actor, user=user, note=note, now=now, data=notes,
                 amount_minor=amount_minor if event in ("started", "succeeded") else None)
    _money_email(req, email_kind, refund)
    return entry


def _money_email(req: RefundRequest, kind: str | None, refund: Any) -> None:
    if kind is None:
        return
    if kind == "refund_sent":
        email_customer(req, kind, amount=refund.amount.format(req.language),
                       method=req.order.get_payment_method_display(), arrival_min=refund.arrival_min_days,
                       arrival_max=refund.arrival_max_days, arrival_by=format_date(refund.arrival_by, req.language))
    elif kind == "refund_reversed":
        email_customer(req, kind, amount=refund.amount.format(req.language),
                       sent_on=format_date(refund.settled_at, req.language))
    else:
        email_customer(req, kind, amount=refund.amount.format(req.language))

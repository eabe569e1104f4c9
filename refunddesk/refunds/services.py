"""Writes on refund requests: what customers and staff do to them. Submission goes through the one way in
(refunds.intake: decide, create, apply); every state change through the one way through (refunds.lifecycle:
the move, the deadlines, the emails, the money), in the caller's transaction."""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from refunddesk.billing.models import Customer, Order
from refunddesk.core import roles
from refunddesk.core.dates import format_date
from refunddesk.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied, ValidationError
from refunddesk.core.money import Money
from refunddesk.refunds import deadlines, intake, lifecycle
from refunddesk.refunds.evidence import CheckedFile, Upload, evidence_check_all
from refunddesk.refunds.facts import Row
from refunddesk.refunds.models import Evidence, Mediation, Reason, RefundRequest
from refunddesk.refunds.states import (
    NO_ANSWER_MOVES,
    NO_ANSWER_WAITS,
    OPEN,
    Actor,
    Status,
    move_for,
    staff_actor,
)

log = logging.getLogger(__name__)

# --- helpers -------------------------------------------------------------------


def _store_files(req: RefundRequest, files: Sequence[CheckedFile], stored: list[str]) -> None:
    for f in files:
        evidence = Evidence(request=req, original_name=f.name, content_type=f.content_type,
                            extension=f.extension, size=f.size, sha256=f.sha256)
        f.source.seek(0)
        evidence.file.save("upload" + f.extension, File(f.source), save=False)  # streamed in chunks
        stored.append(evidence.file.name)
        evidence.save()


def _with_files(func):
    """Delete files written by a service whose transaction then failed: nothing is left behind."""

    def wrapper(*args, **kwargs):
        stored: list[str] = []
        try:
            return func(*args, _stored=stored, **kwargs)
        except BaseException:
            for name in stored:
                default_storage.delete(name)
            raise

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def _lock_customer_request(customer: Customer, public_id: str) -> RefundRequest:
    req = (RefundRequest.objects.select_for_update(of=("self",), no_key=True).select_related("order", "customer")
           .filter(public_id=public_id, customer=customer).first())
    if req is None:  # another customer's request looks exactly like a missing one
        raise NotFound(_("There is no refund request %(id)s in your account.") % {"id": public_id})
    return req


def _lock_request(public_id: str) -> RefundRequest:
    req = (RefundRequest.objects.select_for_update(of=("self",), no_key=True).select_related("order", "customer")
           .filter(public_id=public_id).first())
    if req is None:
        raise NotFound(_("There is no refund request %(id)s.") % {"id": public_id})
    return req


def _required_text(value: str, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError(message, field=field)
    return text


def _check_clause(req: RefundRequest, clause: str) -> str:
    from refunddesk.policies.services import compiled

    clause = (clause or "").strip()
    if not clause:
        raise ValidationError(_("Cite the policy clause this decision rests on."), field="clause")
    if req.policy_version_id:
        known = compiled(req.policy_version).rule_ids
        if clause not in known:
            raise ValidationError(
                _("'%(clause)s' is not a clause of policy %(policy)s; use one of: %(known)s.")
                % {"clause": clause, "policy": req.policy_version, "known": ", ".join(known)},
                field="clause")
    return clause


def _amount(req: RefundRequest, amount: object | None, field: str = "amount") -> Money:
    remaining = req.order.refundable_remaining
    if amount is None or amount == "":
        return req.policy_amount.min(remaining) if req.policy_amount is not None else remaining
    money = amount if isinstance(amount, Money) else Money.from_decimal(amount, req.currency, field=field)
    if money.currency != req.currency:
        raise ValidationError(_("The amount must be in %(cur)s.") % {"cur": req.currency}, field=field)
    if money.minor <= 0:
        raise ValidationError(_("The amount must be more than zero."), field=field)
    if money > remaining:
        raise ValidationError(
            _("%(amount)s is more than is still refundable on this order (%(remaining)s).")
            % {"amount": money.amount, "remaining": remaining.amount}, field=field)
    return money


def _is_override(req: RefundRequest, money: Money, clause: str = "") -> bool:
    """Whether paying `money` citing `clause` goes beyond the policy: against its outcome (it rejected or
    redirected), above its amount, or resting on a clause whose condition did not match this request's facts
    (`clause_matched`): each needs a written reason and is marked, like upholding an appeal."""
    if req.policy_outcome in ("reject", "redirect"):
        return True
    if clause and not clause_matched(req, clause):
        return True
    return req.policy_amount is not None and money > req.policy_amount


def clause_matched(req: RefundRequest, clause: str) -> bool:
    """Whether the policy's clause `clause` matched the facts of `req` when it was decided: the clause that
    decided (`policy_clause`, the default included) or one the stored trace shows as matched. A request with no
    stored decision (none was made) counts every clause as matched."""
    if not req.policy_outcome or clause == req.policy_clause:
        return True
    return any(step.get("clause") == clause and step.get("matched") for step in req.policy_trace or [])


def _override_message(req: RefundRequest, clause: str, otherwise: str) -> str:
    if req.policy_outcome not in ("reject", "redirect") and not clause_matched(req, clause):
        return _("The clause you cite, %(clause)s, did not match this request's facts: deciding on it is an "
                 "override; write why.") % {"clause": clause}
    return otherwise


# --- submission ----------------------------------------------------------------


@_with_files
def refund_request_submit(
    *, customer: Customer, order_number: str, reason: str, description: str = "", language: str | None = None,
    files: Sequence[Upload] = (), now: dt.datetime | None = None, _stored: list[str],
) -> RefundRequest:
    """A customer applies for order `order_number` (theirs) with `reason` (Reason), an optional description and
    evidence; the policy in force decides at once (approve, reject, redirect or review) and the request is
    returned. A rejection of the same order that no longer holds it (states.holds_order) is closed first
    (intake.order_release). Raises ValidationError (reason, evidence), NotFound (order_number), Conflict
    (order_number: refunded in full, or another request holds the order) and whatever the money refuses;
    nothing is written then."""
    now = now or timezone.now()
    if reason not in Reason.values:
        raise ValidationError(
            _("Choose a reason from the list: %(reasons)s.") % {"reasons": ", ".join(Reason.values)}, field="reason")
    checked = evidence_check_all(files)  # before any write
    with transaction.atomic():
        order = (Order.objects.select_for_update(of=("self",), no_key=True).select_related("plan", "customer")
                 .filter(external_id=(order_number or "").strip(), customer=customer).first())
        if order is None:
            raise NotFound(_("There is no order %(number)s in your account. Check the order number on your "
                             "receipt.") % {"number": order_number}, field="order_number")
        if order.refundable_remaining.minor <= 0:
            raise Conflict(_("Order %(order)s has already been refunded in full.") % {"order": order.external_id},
                           field="order_number")
        replaced = intake.order_release(order, actor=customer.user, now=now)  # Conflict while another holds it
        decided = intake.decide_order(order, reason=reason, now=now, submitted_at=now)
        fields = intake.request_fields(row=Row.of(order), decided=decided, reason=reason, description=description,
                                       language=intake.request_language(language, customer.language), now=now)
        event = {"evidence": [f.name for f in checked]}
        if replaced is not None:
            event["replaces"] = replaced.public_id
        req = intake.request_create(fields, actor_kind=Actor.CUSTOMER, actor=customer.user, now=now,
                                    event_data=event)
        req.order, req.customer = order, customer  # read above: not again
        _store_files(req, checked, _stored)
        intake.decision_apply(req, now=now)
    return req


# --- customers ------------------------------------------------------------------


@_with_files
def refund_request_reply(*, customer: Customer, public_id: str, message: str, files: Sequence[Upload] = (),
                         now: dt.datetime | None = None, _stored: list[str]) -> RefundRequest:
    now = now or timezone.now()
    text = _required_text(message, "message", _("Write your answer before sending it."))
    checked = evidence_check_all(files)
    with transaction.atomic():
        req = _lock_customer_request(customer, public_id)
        lifecycle.move(req, action="reply", actor_kind=Actor.CUSTOMER, user=customer.user, note=text, now=now,
              data={"evidence": [f.name for f in checked]})
        _store_files(req, checked, _stored)
    return req


@_with_files
def refund_request_message(*, customer: Customer, public_id: str, message: str, channel: str,
                           files: Sequence[Upload] = (), now: dt.datetime | None = None, _stored: list[str]
                           ) -> RefundRequest:
    """A customer's message on their request `public_id` from another channel (`channel`: email, wechat, site),
    with optional evidence (checked by content like portal uploads). While the request waits for the customer
    it is their reply (the move `reply`, the review clock runs again); otherwise a timeline entry
    `customer_message`. Raises ValidationError (message, evidence), NotFound; nothing is written then."""
    now = now or timezone.now()
    text = message.strip()
    checked = evidence_check_all(files)
    if not text and not checked:
        raise ValidationError(_("Write your answer before sending it."), field="message")
    data = {"evidence": [f.name for f in checked], "channel": channel}
    with transaction.atomic():
        req = _lock_customer_request(customer, public_id)
        if req.status == Status.WAITING_FOR_CUSTOMER:
            lifecycle.move(req, action="reply", actor_kind=Actor.CUSTOMER, user=customer.user, note=text, now=now,
                           data=data)
        else:
            lifecycle.timeline_note(req, action="customer_message", actor_kind=Actor.CUSTOMER, user=customer.user,
                                    note=text, now=now, data=data)
        _store_files(req, checked, _stored)
    return req


@transaction.atomic
def refund_request_staff_message(*, public_id: str, user, message: str, channel: str,
                                 now: dt.datetime | None = None) -> RefundRequest:
    """An agent's or supervisor's message to the customer of `public_id`, sent on `channel` (the sending is the
    caller's: channels): a visible timeline entry `staff_message`. Raises PermissionDenied (not staff),
    ValidationError (message), NotFound."""
    now = now or timezone.now()
    kind = staff_actor(user)
    text = _required_text(message, "message", _("Write the message first."))
    req = _lock_request(public_id)
    lifecycle.timeline_note(req, action="staff_message", actor_kind=kind, user=user, note=text, now=now,
                            data={"channel": channel})
    return req


@transaction.atomic
def refund_request_accept_offer(*, customer: Customer, public_id: str, now: dt.datetime | None = None):
    now = now or timezone.now()
    req = _lock_customer_request(customer, public_id)
    amount = req.offered_amount
    lifecycle.move(req, action="accept_offer", actor_kind=Actor.CUSTOMER, user=customer.user,
          amount_minor=req.offered_amount_minor, now=now)
    if amount is not None:
        if amount > req.order.refundable_remaining:
            raise Conflict(_("This offer is more than is still refundable on the order; ask the agent for a new "
                             "offer."))
        req.approved_amount_minor = amount.minor
        req.save(update_fields=["approved_amount_minor", "updated_at"])
    lifecycle.approve_money(req, now=now)
    return req


@transaction.atomic
def refund_request_decline_offer(*, customer: Customer, public_id: str, note: str = "",
                                 now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    req = _lock_customer_request(customer, public_id)
    lifecycle.move(req, action="decline_offer", actor_kind=Actor.CUSTOMER, user=customer.user, note=note.strip(), now=now)
    return req


@transaction.atomic
def refund_request_withdraw(*, customer: Customer, public_id: str, note: str = "",
                            now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    req = _lock_customer_request(customer, public_id)
    lifecycle.move(req, action="withdraw", actor_kind=Actor.CUSTOMER, user=customer.user, note=note.strip(), now=now)
    return req


@_with_files
def refund_request_appeal(*, customer: Customer, public_id: str, reason: str, files: Sequence[Upload] = (),
                          now: dt.datetime | None = None, _stored: list[str]) -> RefundRequest:
    """The customer appeals a rejection of their request `public_id`, saying why (`reason`) with optional
    evidence; a supervisor who did not make the decision decides it (review deadline from now). Raises
    ValidationError (reason, evidence), NotFound, Conflict (reason) once the appeal window
    (settings.REFUNDDESK_APPEAL_BUSINESS_DAYS business days after the rejection) has ended, IllegalTransition
    (409) for a request that is not rejected."""
    now = now or timezone.now()
    text = _required_text(reason, "reason", _("Say why you disagree with the decision."))
    checked = evidence_check_all(files)
    with transaction.atomic():
        req = _lock_customer_request(customer, public_id)
        until = lifecycle.appeal_due(req) if req.status == Status.REJECTED else None
        if until is not None and now >= until:
            raise Conflict(_("The time to appeal this decision ended on %(date)s. You can apply again for the "
                             "order instead.") % {"date": format_date(until, get_language())}, field="reason")
        lifecycle.move(req, action="appeal", actor_kind=Actor.CUSTOMER, user=customer.user, note=text, now=now)
        req.appeal_reason = text
        req.save(update_fields=["appeal_reason", "updated_at"])
        _store_files(req, checked, _stored)
        lifecycle.email_customer(req, "appeal_received", due=format_date(req.review_due_at, req.language))
    return req


# --- staff ----------------------------------------------------------------------


@transaction.atomic
def refund_request_assign(*, public_id: str, user, assignee=None, now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    kind = staff_actor(user)
    req = _lock_request(public_id)
    target = assignee or user
    if not (roles.has_role(target, roles.AGENT) or roles.has_role(target, roles.SUPERVISOR)):
        raise ValidationError(_("%(user)s is not an agent.") % {"user": target.display_name}, field="assignee")
    req.assignee = target
    req.save(update_fields=["assignee", "updated_at"])
    lifecycle.timeline_note(req, action="assign", actor_kind=kind, user=user, visible=False, now=now,
          note=target.display_name)
    return req


@transaction.atomic
def refund_request_ask_info(*, public_id: str, user, message: str, now: dt.datetime | None = None):
    now = now or timezone.now()
    kind = staff_actor(user)
    text = _required_text(message, "message", _("Say what the customer should send or try."))
    req = _lock_request(public_id)
    lifecycle.move(req, action="ask_info", actor_kind=kind, user=user, note=text, now=now)
    lifecycle.email_customer(req, "info_needed", note=text)
    return req


@transaction.atomic
def refund_request_offer(*, public_id: str, user, amount: object, note: str = "", clause: str = "",
                         override_reason: str = "", now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    kind = staff_actor(user)
    req = _lock_request(public_id)
    money = _amount(req, amount)
    clause = _check_clause(req, clause)
    override = _is_override(req, money, clause)
    if override:
        _required_text(override_reason, "override_reason", _override_message(req, clause, _(
            "This offer goes beyond what the policy allows; write why (it is marked as an override).")))
    lifecycle.move(req, action="offer", actor_kind=kind, user=user, note=note.strip(), clause=clause,
          amount_minor=money.minor, override=override, now=now,
          data={"override_reason": override_reason.strip()} if override else None)
    req.offered_amount_minor = money.minor
    if override:
        req.override, req.override_reason = True, override_reason.strip()
    req.save(update_fields=["offered_amount_minor", "override", "override_reason", "updated_at"])
    lifecycle.email_customer(req, "offer_made", amount=money.format(req.language), note=note.strip())
    return req


@transaction.atomic
def refund_request_approve(*, public_id: str, user, reason: str, clause: str, amount: object | None = None,
                           override_reason: str = "", now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    kind = staff_actor(user)
    text = _required_text(reason, "reason", _("Give the reason for the decision; the customer will read it."))
    req = _lock_request(public_id)
    return _decide_approve(req, action="approve", kind=kind, user=user, text=text, clause=clause, amount=amount,
                           override_reason=override_reason, now=now, email_kind="decided")


def _decide_approve(req, *, action, kind, user, text, clause, amount, override_reason, now, email_kind):
    move_for(action, req.status, kind)  # refuse an illegal move before validating the rest
    money = _amount(req, amount)
    clause = _check_clause(req, clause)
    override = _is_override(req, money, clause)
    if override:
        _required_text(override_reason, "override_reason", _override_message(req, clause, _(
            "Approving against the policy (or above its amount) is an override: write why.")))
    req.decision_reason, req.decision_clause, req.decided_by = text, clause, user
    if override:
        req.override, req.override_reason = True, override_reason.strip()
    lifecycle.approve(req, action=action, actor_kind=kind, user=user, note=text, clause=clause,
                      amount_minor=money.minor, override=override, now=now, email_kind=email_kind,
                      data={"override_reason": override_reason.strip()} if override else None)
    return req


@transaction.atomic
def refund_request_reject(*, public_id: str, user, reason: str, clause: str,
                          now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    kind = staff_actor(user)
    text = _required_text(reason, "reason", _("Give the reason for the decision; the customer will read it."))
    req = _lock_request(public_id)
    move_for("reject", req.status, kind)
    clause = _check_clause(req, clause)
    lifecycle.move(req, action="reject", actor_kind=kind, user=user, note=text, clause=clause, now=now)
    req.decision_reason, req.decision_clause, req.decided_by, req.first_reviewer = text, clause, user, user
    req.save()
    lifecycle.email_customer(req, "decided", outcome="rejected", reason=text, clause=clause)
    return req


@transaction.atomic
def refund_request_decide_appeal(*, public_id: str, user, uphold: bool, reason: str, clause: str,
                                 amount: object | None = None, override_reason: str = "",
                                 now: dt.datetime | None = None) -> RefundRequest:
    """A supervisor who did not make the first decision decides the appeal; the decision is final."""
    now = now or timezone.now()
    kind = staff_actor(user, supervisor=True)
    text = _required_text(reason, "reason", _("Give the reason for the decision; the customer will read it."))
    req = _lock_request(public_id)
    if req.first_reviewer_id is not None and req.first_reviewer_id == user.pk:
        raise PermissionDenied(_("You made the decision this appeal is against; another supervisor must decide it."))
    if uphold:
        return _decide_approve(req, action="appeal_approve", kind=kind, user=user, text=text, clause=clause,
                               amount=amount, override_reason=override_reason, now=now, email_kind="appeal_decided")
    move_for("appeal_reject", req.status, kind)
    clause = _check_clause(req, clause)
    lifecycle.move(req, action="appeal_reject", actor_kind=kind, user=user, note=text, clause=clause, now=now)
    req.decision_reason, req.decision_clause, req.decided_by = text, clause, user
    req.save()
    lifecycle.email_customer(req, "appeal_decided", outcome="rejected", reason=text, clause=clause)
    return req


@transaction.atomic
def mediation_record(*, public_id: str, user, mediator: str, outcome: str,
                     now: dt.datetime | None = None) -> Mediation:
    now = now or timezone.now()
    kind = staff_actor(user, supervisor=True)
    req = _lock_request(public_id)
    mediator = _required_text(mediator, "mediator", _("Name the mediator (the organisation or person)."))
    outcome = _required_text(outcome, "outcome", _("Record the outcome of the mediation."))
    mediation = Mediation.objects.create(request=req, mediator=mediator, outcome=outcome, recorded_by=user,
                                         recorded_at=now)
    lifecycle.timeline_note(req, action="mediation", actor_kind=kind, user=user, note=f"{mediator}: {outcome}", now=now)
    return mediation


@transaction.atomic
def refund_request_staff_note(*, public_id: str, user, note: str, now: dt.datetime | None = None):
    now = now or timezone.now()
    kind = staff_actor(user)
    text = _required_text(note, "note", _("Write the note first."))
    req = _lock_request(public_id)
    return lifecycle.timeline_note(req, action="internal_note", actor_kind=kind, user=user, note=text, visible=False, now=now)


__all__ = [name for name in dir() if name.startswith("refund_request_")] + [
    "mediation_record", "Upload", "ApplicationError",
]


# --- deadlines that could not be computed -------------------------------------------------------


@dataclass(frozen=True)
class DeadlinesFilled:
    filled: list[str]  # request numbers given the deadlines they lacked
    missing: dict[str, str]  # request number -> why it still has none
    arrivals: list[str]  # request numbers whose paid refund was given its arrival date


def deadlines_fill(*, now: dt.datetime | None = None) -> DeadlinesFilled:
    """Give open requests the deadlines that could not be computed when they moved (no holiday
    schedule for a year they reach), now that the calendar may know that year: each request's
    history is replayed with the same rule its moves used (`lifecycle.clocks`), pauses included. A deadline
    a request already has is never changed. Paid refunds get the arrival dates they lack too (payments'
    receiver of `deadlines_filled`). Safe to run any number of times."""
    now = now or timezone.now()
    filled: list[str] = []
    missing: dict[str, str] = {}
    ids = (RefundRequest.objects.filter(status__in=sorted(OPEN), timeline__data__has_key="deadline_error")
           .filter(Q(review_due_at=None) | Q(refund_due_at=None) | Q(appeal_due_at=None)
                   | Q(status__in=NO_ANSWER_WAITS, answer_due_at=None))
           .values_list("pk", flat=True).distinct()
           .order_by("pk"))
    for pk in ids:
        with transaction.atomic():
            req = RefundRequest.objects.select_for_update(no_key=True).get(pk=pk)
            replay = copy.copy(req)
            replay.review_due_at = replay.refund_due_at = replay.appeal_due_at = replay.paused_at = None
            replay.answer_remind_at = replay.answer_due_at = replay.answer_reminded_at = None
            problems: dict = {}
            for event in req.timeline.exclude(from_status=F("to_status")).order_by("at", "pk"):
                lifecycle.clocks(replay, event.from_status, event.to_status, event.at, problems)
            got = {attr: getattr(replay, attr) for attr in ("review_due_at", "refund_due_at", "appeal_due_at",
                                                             "answer_remind_at", "answer_due_at")
                   if getattr(req, attr) is None and getattr(replay, attr) is not None}
            if "deadline_error" in problems:
                missing[req.public_id] = problems["deadline_error"]
            if not got:
                continue
            for attr, value in got.items():
                setattr(req, attr, value)
            req.save(update_fields=[*got, "updated_at"])
            lifecycle.timeline_note(req, action="deadline_set", actor_kind=Actor.SYSTEM, visible=False, now=now,
                                    data={attr: value.isoformat() for attr, value in got.items()})
            filled.append(req.public_id)
    arrivals = [name for _receiver, names in lifecycle.deadlines_filled.send(sender=RefundRequest) for name in names or ()]
    return DeadlinesFilled(filled, missing, arrivals)


def deadlines_fill_on_calendar_change(*, seen: object | None) -> object:
    """For the worker's maintenance loop: `deadlines_fill` once each time the calendar changes (a schedule
    file added or edited, a restart after upgrading `holidays`), so that recording a schedule is enough.
    `seen` is what the previous call returned."""
    current = deadlines.calendar()
    if current is not seen:
        result = deadlines_fill()
        if result.filled or result.arrivals:
            log.info("holiday calendar changed: deadlines given to %d request(s), arrival dates to %d refund(s)",
                     len(result.filled), len(result.arrivals))
    return current


# --- requests whose customer does not answer -------------------------------------------------------


@dataclass(frozen=True)
class NoAnswerRun:
    reminded: list[str]  # request numbers whose customer was reminded
    moved: dict[str, str]  # request number -> the status the policy's no_answer outcome moved it to


def no_answer_run(*, now: dt.datetime | None = None) -> NoAnswerRun:
    """Requests waiting for the customer (a question or an offer, states.NO_ANSWER_WAITS) do not wait forever:
    the deciding policy's `no_answer` (lifecycle.no_answer_rule; seed-independent, declared by each document)
    sets `answer_remind_at` and `answer_due_at` in business days when the request starts waiting
    (lifecycle.clocks). Once `answer_remind_at` has passed the customer is reminded (a visible timeline entry
    `no_answer_reminder` and the email `answer_reminder`, in their language); once `answer_due_at` has passed too,
    the request takes the policy's outcome for the state it waits in by a System move (states.NO_ANSWER_MOVES:
    closed as unanswered, back to the agent, the offer taken as accepted - its money sent as an acceptance's
    is - or as declined), with the email `no_answer_outcome`. A reminder sent late (the worker was down) moves
    the close on so that the customer still has the days between reminder and close. An offer taken as accepted
    that is more than is still refundable is taken as declined instead. The worker runs this periodically
    (refunds.apps); safe to run any number of times, each request in its own transaction."""
    now = now or timezone.now()
    reminded: list[str] = []
    moved: dict[str, str] = {}
    ids = (RefundRequest.objects.filter(status__in=NO_ANSWER_WAITS)
           .filter(Q(answer_remind_at__lte=now, answer_reminded_at=None) | Q(answer_due_at__lte=now))
           .order_by("pk").values_list("pk", flat=True))
    for pk in ids:
        with transaction.atomic():
            req = RefundRequest.objects.select_for_update().select_related("order", "customer").get(pk=pk)
            rule = lifecycle.no_answer_rule(req) if req.status in NO_ANSWER_WAITS else None
            if rule is None:
                continue
            outcome = rule.outcome(req.status)
            if req.answer_reminded_at is None:
                if req.answer_remind_at is not None and req.answer_remind_at <= now:
                    _no_answer_remind(req, rule, outcome, now)
                    reminded.append(req.public_id)
                continue
            if req.answer_due_at is not None and req.answer_due_at <= now:
                _no_answer_move(req, outcome, now)
                moved[req.public_id] = req.status
    if reminded or moved:
        log.info("no answer: %d customer(s) reminded, %d request(s) moved on", len(reminded), len(moved))
    return NoAnswerRun(reminded, moved)


def _no_answer_remind(req: RefundRequest, rule, outcome: str, now: dt.datetime) -> None:
    if req.answer_due_at is not None and req.answer_due_at <= now:  # late: keep the days between the two
        try:
            req.answer_due_at = deadlines.due_after(now, rule.close_after - rule.remind_after)
        except ApplicationError:
            req.answer_due_at = None
    req.answer_reminded_at = now
    req.save(update_fields=["answer_due_at", "answer_reminded_at", "updated_at"])
    lifecycle.timeline_note(req, action="no_answer_reminder", actor_kind=Actor.SYSTEM, now=now, data={
        "due": req.answer_due_at.isoformat() if req.answer_due_at else None, "outcome": outcome})
    lifecycle.email_customer(req, "answer_reminder", outcome=outcome, offered=req.status == Status.OFFERED,
                             due=format_date(req.answer_due_at, req.language) if req.answer_due_at else "",
                             amount=req.offered_amount.format(req.language) if req.offered_amount else "")


def _no_answer_move(req: RefundRequest, outcome: str, now: dt.datetime) -> None:
    action = NO_ANSWER_MOVES[outcome]
    amount = req.offered_amount
    if action == "no_answer_accept" and (amount is None or amount > req.order.refundable_remaining):
        action, outcome = NO_ANSWER_MOVES["decline"], "decline"
    waited = req.status
    lifecycle.move(req, action=action, actor_kind=Actor.SYSTEM, now=now, amount_minor=(
        amount.minor if action == "no_answer_accept" else None), data={"no_answer": outcome, "waited": waited})
    if action == "no_answer_accept":
        req.approved_amount_minor = amount.minor
        req.save(update_fields=["approved_amount_minor", "updated_at"])
        lifecycle.approve_money(req, now=now)
    lifecycle.email_customer(req, "no_answer_outcome", outcome=outcome, offered=waited == Status.OFFERED,
                             amount=amount.format(req.language) if amount is not None else "",
                             due=format_date(req.review_due_at, req.language) if req.review_due_at else "")

"""Writes on refund requests. Every state change goes through `_move`, which checks the
one state machine (states.py), writes the append-only timeline event, keeps the deadlines,
and enqueues emails and refund execution in the same transaction."""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from refunddesk.billing.models import Customer, Order, SalesChannel
from refunddesk.core import roles
from refunddesk.core.dates import format_date
from refunddesk.core.errors import (
    ApplicationError,
    ConfigurationError,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from refunddesk.core.i18n import is_zh
from refunddesk.core.money import Money
from refunddesk.notify.services import email_enqueue
from refunddesk.policies.services import policy_decide
from refunddesk.refunds import deadlines
from refunddesk.refunds.evidence import CheckedFile, Upload, evidence_check_all
from refunddesk.refunds.facts import facts_for_order
from refunddesk.refunds.models import Evidence, Mediation, Reason, RefundRequest, TimelineEvent, _public_id
from refunddesk.refunds.states import OPEN, Actor, Status, move_for

log = logging.getLogger(__name__)

STORE_INSTRUCTIONS = {
    SalesChannel.APP_STORE: {
        "store": "Apple App Store",
        "en": "Open reportaproblem.apple.com, sign in with your Apple ID, choose 'Request a refund', pick this "
              "purchase and say why. Apple decides and refunds it to your Apple account.",
        "zh": "打开 reportaproblem.apple.com,使用您的 Apple ID 登录,选择「申请退款」,选中这笔购买并说明原因。"
              "由 Apple 审核并退回您的 Apple 账户。",
    },
    SalesChannel.GOOGLE_PLAY: {
        "store": "Google Play",
        "en": "Open play.google.com, go to Payments & subscriptions > Budget & order history, pick this order and "
              "choose 'Request a refund'. Google decides and refunds it.",
        "zh": "打开 play.google.com,进入「付款和订阅」>「预算和订单记录」,选中此订单并选择「申请退款」。"
              "由 Google 审核并退款。",
    },
}


# --- helpers -------------------------------------------------------------------


def _link(req: RefundRequest) -> str:
    return f"{settings.SITE_URL}/portal/requests/{req.public_id}/"


def _email(req: RefundRequest, kind: str, **context) -> None:
    customer = req.customer
    if context.get("outcome") == "approved":  # issue 14.6: never promise money a gateway here cannot move
        from refunddesk.payments.selectors import gateway_problem

        context["held"] = gateway_problem(req.order.gateway) is not None
    email_enqueue(
        to=customer.email, kind=kind, language=req.language,
        context={"req": req, "name": customer.name or customer.email, "link": _link(req), **context},
    )


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


def _set_deadline(req: RefundRequest, attr: str, compute, notes: dict) -> None:
    """req.<attr> = compute(); when a year it needs has no holiday schedule, no deadline and a flag in the
    timeline event's notes (`deadlines_fill` computes it later) - never a refusal of what the person did."""
    try:
        setattr(req, attr, compute())
    except ConfigurationError as exc:
        setattr(req, attr, None)
        notes["deadline_error"] = str(exc)
        log.warning("deadline not computed for %s: %s", req.public_id, exc)


def _review_days(req: RefundRequest) -> int:
    return int(req.facts.get("_review_business_days") or settings.REFUNDDESK_REVIEW_BUSINESS_DAYS)


def _refund_days(req: RefundRequest) -> int:
    return int(req.facts.get("_refund_business_days") or settings.REFUNDDESK_REFUND_BUSINESS_DAYS)


def _move(
    req: RefundRequest, *, action: str, actor_kind: str, user=None, note: str = "", clause: str = "",
    amount_minor: int | None = None, override: bool = False, visible: bool = True, now: dt.datetime,
    data: dict | None = None,
) -> TimelineEvent:
    """The one place a request changes state."""
    move = move_for(action, req.status, actor_kind)
    source, target = req.status, move.target
    notes = dict(data or {})
    _clocks(req, source, target, now, notes)
    if target in (Status.APPROVED, Status.ACCEPTED, Status.REJECTED, Status.REDIRECTED, Status.REJECTED_FINAL):
        req.decided_at = now
    req.status = target
    req.save()
    return TimelineEvent.objects.create(
        request=req, at=now, actor=user, actor_kind=actor_kind, action=action, from_status=source,
        to_status=target, note=note, clause=clause, amount_minor=amount_minor, override=override,
        visible_to_customer=visible, data=notes,
    )


def _clocks(req: RefundRequest, source: str, target: str, now: dt.datetime, notes: dict) -> None:
    """What a move from `source` to `target` at `now` does to the request's deadlines: the one rule,
    used by every move and by `deadlines_fill`'s replay of a request's history."""
    if target == Status.IN_REVIEW and source == Status.SUBMITTED:
        _set_deadline(req, "review_due_at", lambda: deadlines.due_after(req.submitted_at, _review_days(req)), notes)
    if target == Status.WAITING_FOR_CUSTOMER:
        req.paused_at = now
    if source == Status.WAITING_FOR_CUSTOMER and req.paused_at:
        if req.review_due_at:
            due, paused = req.review_due_at, req.paused_at
            _set_deadline(req, "review_due_at", lambda: deadlines.extend_for_pause(due, paused, now), notes)
        notes["paused_from"] = req.paused_at.isoformat()
        req.paused_at = None
    if target == Status.APPEALED:
        _set_deadline(req, "review_due_at", lambda: deadlines.due_after(now, _review_days(req)), notes)
    if target in (Status.APPROVED, Status.ACCEPTED):
        _set_deadline(req, "refund_due_at", lambda: deadlines.due_after(now, _refund_days(req)), notes)


def _note(req: RefundRequest, *, action: str, actor_kind: str, user=None, note: str = "", visible: bool = True,
          now: dt.datetime, data: dict | None = None) -> TimelineEvent:
    """A timeline entry without a change of state (a message, an assignment, a mediation)."""
    return TimelineEvent.objects.create(
        request=req, at=now, actor=user, actor_kind=actor_kind, action=action, from_status=req.status,
        to_status=req.status, note=note, visible_to_customer=visible, data=data or {},
    )


def _lock_customer_request(customer: Customer, public_id: str) -> RefundRequest:
    req = (RefundRequest.objects.select_for_update().select_related("order", "customer")
           .filter(public_id=public_id, customer=customer).first())
    if req is None:  # another customer's request looks exactly like a missing one
        raise NotFound(_("There is no refund request %(id)s in your account.") % {"id": public_id})
    return req


def _lock_request(public_id: str) -> RefundRequest:
    req = (RefundRequest.objects.select_for_update().select_related("order", "customer")
           .filter(public_id=public_id).first())
    if req is None:
        raise NotFound(_("There is no refund request %(id)s.") % {"id": public_id})
    return req


def _staff_kind(user, *, supervisor: bool = False) -> str:
    if supervisor:
        if not roles.has_role(user, roles.SUPERVISOR):
            raise PermissionDenied(_("Only a supervisor can do this."))
        return Actor.SUPERVISOR
    if roles.has_role(user, roles.SUPERVISOR):
        return Actor.SUPERVISOR
    if roles.has_role(user, roles.AGENT):
        return Actor.AGENT
    raise PermissionDenied(_("Only agents and supervisors can act on refund requests."))


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


def _is_override(req: RefundRequest, money: Money) -> bool:
    if req.policy_outcome in ("reject", "redirect"):
        return True
    return req.policy_amount is not None and money > req.policy_amount


def _after_approval(req: RefundRequest, *, now: dt.datetime) -> None:
    """Approved money is handed to refund execution in this same transaction."""
    from refunddesk.payments.services import refund_create_for_request

    refund_create_for_request(request=req, now=now)


# --- submission ----------------------------------------------------------------


@_with_files
def refund_request_submit(
    *, customer: Customer, order_number: str, reason: str, description: str = "", language: str | None = None,
    files: Sequence[Upload] = (), now: dt.datetime | None = None, _stored: list[str],
) -> RefundRequest:
    """A customer applies; the policy in force decides at once (approve, reject, redirect or review)."""
    now = now or timezone.now()
    if reason not in Reason.values:
        raise ValidationError(
            _("Choose a reason from the list: %(reasons)s.") % {"reasons": ", ".join(Reason.values)}, field="reason")
    checked = evidence_check_all(files)  # before any write
    with transaction.atomic():
        order = (Order.objects.select_for_update().select_related("plan", "customer")
                 .filter(external_id=(order_number or "").strip(), customer=customer).first())
        if order is None:
            raise NotFound(_("There is no order %(number)s in your account. Check the order number on your "
                             "receipt.") % {"number": order_number}, field="order_number")
        existing = RefundRequest.objects.filter(order=order, status__in=OPEN).first()
        if existing:
            raise Conflict(_("Order %(order)s already has an open refund request (%(id)s); follow that one "
                             "instead.") % {"order": order.external_id, "id": existing.public_id},
                           field="order_number", request=existing.public_id)
        if order.refundable_remaining.minor <= 0:
            raise Conflict(_("Order %(order)s has already been refunded in full.") % {"order": order.external_id},
                           field="order_number")
        facts = facts_for_order(order=order, reason=reason, now=now, submitted_at=now)
        decision = policy_decide(facts=facts, purchased_at=order.purchased_at, now=now)
        facts["_review_business_days"] = decision.review_business_days
        facts["_refund_business_days"] = decision.refund_business_days
        lang = language if language in ("zh-hans", "en") else customer.language
        req = RefundRequest(
            customer=customer, order=order, reason=reason, description=description.strip(),
            language=lang, currency=order.currency, submitted_at=now,
            policy_version=decision.version, policy_outcome=decision.outcome, policy_clause=decision.clause,
            policy_amount_minor=decision.amount.minor if decision.amount is not None else None,
            policy_explanation=decision.explanation, policy_trace=decision.trace, facts=facts,
        )
        for _attempt in range(3):
            try:
                with transaction.atomic():
                    req.save(force_insert=True)
                break
            except IntegrityError:
                if RefundRequest.objects.filter(order=order, status__in=OPEN).exists():
                    # a simultaneous submission won the race
                    raise Conflict(_("Order %(order)s already has an open refund request.")
                                   % {"order": order.external_id}, field="order_number") from None
                req.pk, req.public_id = None, _public_id()  # the random request number was taken: draw again
        else:
            raise Conflict(_("We could not number your request; please submit it again."), field="order_number")
        _store_files(req, checked, _stored)
        TimelineEvent.objects.create(request=req, at=now, actor=customer.user, actor_kind=Actor.CUSTOMER,
                                     action="submit", to_status=Status.SUBMITTED, note=req.description,
                                     data={"evidence": [f.name for f in checked]})
        _apply_policy_decision(req, now=now)
    return req


def _apply_policy_decision(req: RefundRequest, *, now: dt.datetime) -> None:
    why = req.explanation(req.language)
    outcome, clause = req.policy_outcome, req.policy_clause
    if outcome == "redirect" or req.order.sales_channel in STORE_INSTRUCTIONS:
        info = STORE_INSTRUCTIONS.get(req.order.sales_channel)
        if info is not None:
            req.redirect_instructions = info
            _move(req, action="policy_redirect", actor_kind=Actor.POLICY, note=why, clause=clause, now=now)
            _email(req, "decided", outcome="redirected", reason=why, clause=clause, store=info["store"],
                   instructions=info["zh" if is_zh(req.language) else "en"])
            return
        outcome = "review"  # a redirect for a channel we have no instructions for: a person decides
    if outcome == "approve" and req.policy_amount is not None and req.policy_amount.minor > 0:
        req.approved_amount_minor = req.policy_amount_minor
        _move(req, action="policy_approve", actor_kind=Actor.POLICY, note=why, clause=clause,
              amount_minor=req.policy_amount_minor, now=now)
        _email(req, "decided", outcome="approved", reason=why, clause=clause,
               amount=req.approved_amount.format(req.language))
        _after_approval(req, now=now)
    elif outcome == "reject":
        _move(req, action="policy_reject", actor_kind=Actor.POLICY, note=why, clause=clause, now=now)
        _email(req, "decided", outcome="rejected", reason=why, clause=clause)
    else:
        _move(req, action="policy_review", actor_kind=Actor.POLICY, note=why, clause=clause, now=now)
        _email(req, "received", due=format_date(req.review_due_at, req.language))


# --- customers ------------------------------------------------------------------


@_with_files
def refund_request_reply(*, customer: Customer, public_id: str, message: str, files: Sequence[Upload] = (),
                         now: dt.datetime | None = None, _stored: list[str]) -> RefundRequest:
    now = now or timezone.now()
    text = _required_text(message, "message", _("Write your answer before sending it."))
    checked = evidence_check_all(files)
    with transaction.atomic():
        req = _lock_customer_request(customer, public_id)
        _move(req, action="reply", actor_kind=Actor.CUSTOMER, user=customer.user, note=text, now=now,
              data={"evidence": [f.name for f in checked]})
        _store_files(req, checked, _stored)
    return req


@transaction.atomic
def refund_request_accept_offer(*, customer: Customer, public_id: str, now: dt.datetime | None = None):
    now = now or timezone.now()
    req = _lock_customer_request(customer, public_id)
    amount = req.offered_amount
    _move(req, action="accept_offer", actor_kind=Actor.CUSTOMER, user=customer.user,
          amount_minor=req.offered_amount_minor, now=now)
    if amount is not None:
        if amount > req.order.refundable_remaining:
            raise Conflict(_("This offer is more than is still refundable on the order; ask the agent for a new "
                             "offer."))
        req.approved_amount_minor = amount.minor
        req.save(update_fields=["approved_amount_minor", "updated_at"])
    _after_approval(req, now=now)
    return req


@transaction.atomic
def refund_request_decline_offer(*, customer: Customer, public_id: str, note: str = "",
                                 now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    req = _lock_customer_request(customer, public_id)
    _move(req, action="decline_offer", actor_kind=Actor.CUSTOMER, user=customer.user, note=note.strip(), now=now)
    return req


@transaction.atomic
def refund_request_withdraw(*, customer: Customer, public_id: str, note: str = "",
                            now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    req = _lock_customer_request(customer, public_id)
    _move(req, action="withdraw", actor_kind=Actor.CUSTOMER, user=customer.user, note=note.strip(), now=now)
    return req


@_with_files
def refund_request_appeal(*, customer: Customer, public_id: str, reason: str, files: Sequence[Upload] = (),
                          now: dt.datetime | None = None, _stored: list[str]) -> RefundRequest:
    now = now or timezone.now()
    text = _required_text(reason, "reason", _("Say why you disagree with the decision."))
    checked = evidence_check_all(files)
    with transaction.atomic():
        req = _lock_customer_request(customer, public_id)
        _move(req, action="appeal", actor_kind=Actor.CUSTOMER, user=customer.user, note=text, now=now)
        req.appeal_reason = text
        req.save(update_fields=["appeal_reason", "updated_at"])
        _store_files(req, checked, _stored)
        _email(req, "appeal_received", due=format_date(req.review_due_at, req.language))
    return req


# --- staff ----------------------------------------------------------------------


@transaction.atomic
def refund_request_assign(*, public_id: str, user, assignee=None, now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    kind = _staff_kind(user)
    req = _lock_request(public_id)
    target = assignee or user
    if not (roles.has_role(target, roles.AGENT) or roles.has_role(target, roles.SUPERVISOR)):
        raise ValidationError(_("%(user)s is not an agent.") % {"user": target}, field="assignee")
    req.assignee = target
    req.save(update_fields=["assignee", "updated_at"])
    _note(req, action="assign", actor_kind=kind, user=user, visible=False, now=now,
          note=str(target.get_full_name() or target.username))
    return req


@transaction.atomic
def refund_request_ask_info(*, public_id: str, user, message: str, now: dt.datetime | None = None):
    now = now or timezone.now()
    kind = _staff_kind(user)
    text = _required_text(message, "message", _("Say what the customer should send or try."))
    req = _lock_request(public_id)
    _move(req, action="ask_info", actor_kind=kind, user=user, note=text, now=now)
    _email(req, "info_needed", note=text)
    return req


@transaction.atomic
def refund_request_offer(*, public_id: str, user, amount: object, note: str = "", clause: str = "",
                         override_reason: str = "", now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    kind = _staff_kind(user)
    req = _lock_request(public_id)
    money = _amount(req, amount)
    clause = _check_clause(req, clause)
    override = _is_override(req, money)
    if override:
        _required_text(override_reason, "override_reason",
                       _("This offer goes beyond what the policy allows; write why (it is marked as an override)."))
    _move(req, action="offer", actor_kind=kind, user=user, note=note.strip(), clause=clause,
          amount_minor=money.minor, override=override, now=now,
          data={"override_reason": override_reason.strip()} if override else None)
    req.offered_amount_minor = money.minor
    if override:
        req.override, req.override_reason = True, override_reason.strip()
    req.save(update_fields=["offered_amount_minor", "override", "override_reason", "updated_at"])
    _email(req, "offer_made", amount=money.format(req.language), note=note.strip())
    return req


@transaction.atomic
def refund_request_approve(*, public_id: str, user, reason: str, clause: str, amount: object | None = None,
                           override_reason: str = "", now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    kind = _staff_kind(user)
    text = _required_text(reason, "reason", _("Give the reason for the decision; the customer will read it."))
    req = _lock_request(public_id)
    return _decide_approve(req, action="approve", kind=kind, user=user, text=text, clause=clause, amount=amount,
                           override_reason=override_reason, now=now, email_kind="decided")


def _decide_approve(req, *, action, kind, user, text, clause, amount, override_reason, now, email_kind):
    move_for(action, req.status, kind)  # refuse an illegal move before validating the rest
    money = _amount(req, amount)
    clause = _check_clause(req, clause)
    override = _is_override(req, money)
    if override:
        _required_text(override_reason, "override_reason",
                       _("Approving against the policy (or above its amount) is an override: write why."))
    _move(req, action=action, actor_kind=kind, user=user, note=text, clause=clause, amount_minor=money.minor,
          override=override, now=now, data={"override_reason": override_reason.strip()} if override else None)
    req.approved_amount_minor = money.minor
    req.decision_reason, req.decision_clause, req.decided_by = text, clause, user
    if override:
        req.override, req.override_reason = True, override_reason.strip()
    req.save()
    _email(req, email_kind, outcome="approved", reason=text, clause=clause, amount=money.format(req.language))
    _after_approval(req, now=now)
    return req


@transaction.atomic
def refund_request_reject(*, public_id: str, user, reason: str, clause: str,
                          now: dt.datetime | None = None) -> RefundRequest:
    now = now or timezone.now()
    kind = _staff_kind(user)
    text = _required_text(reason, "reason", _("Give the reason for the decision; the customer will read it."))
    req = _lock_request(public_id)
    move_for("reject", req.status, kind)
    clause = _check_clause(req, clause)
    _move(req, action="reject", actor_kind=kind, user=user, note=text, clause=clause, now=now)
    req.decision_reason, req.decision_clause, req.decided_by, req.first_reviewer = text, clause, user, user
    req.save()
    _email(req, "decided", outcome="rejected", reason=text, clause=clause)
    return req


@transaction.atomic
def refund_request_decide_appeal(*, public_id: str, user, uphold: bool, reason: str, clause: str,
                                 amount: object | None = None, override_reason: str = "",
                                 now: dt.datetime | None = None) -> RefundRequest:
    """A supervisor who did not make the first decision decides the appeal; the decision is final."""
    now = now or timezone.now()
    kind = _staff_kind(user, supervisor=True)
    text = _required_text(reason, "reason", _("Give the reason for the decision; the customer will read it."))
    req = _lock_request(public_id)
    if req.first_reviewer_id is not None and req.first_reviewer_id == user.pk:
        raise PermissionDenied(_("You made the decision this appeal is against; another supervisor must decide it."))
    if uphold:
        return _decide_approve(req, action="appeal_approve", kind=kind, user=user, text=text, clause=clause,
                               amount=amount, override_reason=override_reason, now=now, email_kind="appeal_decided")
    move_for("appeal_reject", req.status, kind)
    clause = _check_clause(req, clause)
    _move(req, action="appeal_reject", actor_kind=kind, user=user, note=text, clause=clause, now=now)
    req.decision_reason, req.decision_clause, req.decided_by = text, clause, user
    req.save()
    _email(req, "appeal_decided", outcome="rejected", reason=text, clause=clause)
    return req


@transaction.atomic
def mediation_record(*, public_id: str, user, mediator: str, outcome: str,
                     now: dt.datetime | None = None) -> Mediation:
    now = now or timezone.now()
    kind = _staff_kind(user, supervisor=True)
    req = _lock_request(public_id)
    mediator = _required_text(mediator, "mediator", _("Name the mediator (the organisation or person)."))
    outcome = _required_text(outcome, "outcome", _("Record the outcome of the mediation."))
    mediation = Mediation.objects.create(request=req, mediator=mediator, outcome=outcome, recorded_by=user,
                                         recorded_at=now)
    _note(req, action="mediation", actor_kind=kind, user=user, note=f"{mediator}: {outcome}", now=now)
    return mediation


@transaction.atomic
def refund_request_staff_note(*, public_id: str, user, note: str, now: dt.datetime | None = None):
    now = now or timezone.now()
    kind = _staff_kind(user)
    text = _required_text(note, "note", _("Write the note first."))
    req = _lock_request(public_id)
    return _note(req, action="internal_note", actor_kind=kind, user=user, note=text, visible=False, now=now)


def refund_request_refund_moved(*, req: RefundRequest, action: str, note: str = "", user=None,
                                now: dt.datetime | None = None, amount_minor: int | None = None,
                                data: dict | None = None) -> TimelineEvent:
    """Used by refund execution (payments) to drive refunding -> refunded | refund_failed. Caller holds the lock."""
    now = now or timezone.now()
    kind = Actor.FINANCE if user is not None else Actor.SYSTEM
    return _move(req, action=action, actor_kind=kind, user=user, note=note, amount_minor=amount_minor, now=now,
                 data=data)


__all__ = [name for name in dir() if name.startswith("refund_request_")] + [
    "mediation_record", "Upload", "ApplicationError",
]


def refund_succeeded_notify(*, request: RefundRequest, refund, user=None, note: str = "",
                            now: dt.datetime) -> None:
    """Payments calls this (holding the locks) when the money has gone back."""
    req = RefundRequest.objects.select_for_update().select_related("order", "customer").get(pk=request.pk)
    refund_request_refund_moved(req=req, action="refund_succeed", user=user, note=note, now=now,
                                amount_minor=refund.amount_minor,
                                data={"gateway_ref": refund.gateway_ref, "arrival_by": refund.arrival_by.isoformat()
                                      if refund.arrival_by else None})
    _email(req, "refund_sent", amount=refund.amount.format(req.language),
           method=req.order.get_payment_method_display(), arrival_min=refund.arrival_min_days,
           arrival_max=refund.arrival_max_days, arrival_by=format_date(refund.arrival_by, req.language))


def refund_failed_notify(*, request: RefundRequest, refund, reason: str, now: dt.datetime) -> None:
    req = RefundRequest.objects.select_for_update().select_related("order", "customer").get(pk=request.pk)
    refund_request_refund_moved(req=req, action="refund_fail", note=reason, now=now, data={"reason": reason})
    _email(req, "refund_failed", amount=refund.amount.format(req.language))


def refund_request_finance_note(*, request: RefundRequest, user, note: str, now: dt.datetime) -> TimelineEvent:
    """A staff-only timeline entry by finance about the request's money (a disagreement checked)."""
    return _note(request, action="finance_note", actor_kind=Actor.FINANCE, user=user, note=note, visible=False,
                 now=now)


def refund_reversed_notify(*, request: RefundRequest, refund, reason: str, now: dt.datetime) -> None:
    """Payments calls this (holding the locks) when a refund the customer was told about failed at the
    gateway afterwards: refunded -> refund_failed, so the request shows it and finance's work on it is
    tracked; the customer is emailed. When the order already has another open request (a later partial
    refund), the request keeps its state and gets a visible timeline entry instead (one open request per
    order)."""
    req = RefundRequest.objects.select_for_update().select_related("order", "customer").get(pk=request.pk)
    data = {"reason": reason, "refund": refund.idempotency_key, "amount": str(refund.amount)}
    other_open = RefundRequest.objects.filter(order_id=req.order_id, status__in=OPEN).exclude(pk=req.pk).exists()
    if req.status == Status.REFUNDED and not other_open:
        refund_request_refund_moved(req=req, action="refund_reverse", note=reason, now=now, data=data)
    else:
        _note(req, action="refund_reverse", actor_kind=Actor.SYSTEM, note=reason, now=now, data=data)
    _email(req, "refund_reversed", amount=refund.amount.format(req.language),
           sent_on=format_date(refund.settled_at, req.language))


# --- deadlines that could not be computed -------------------------------------------------------


@dataclass(frozen=True)
class DeadlinesFilled:
    filled: list[str]  # request numbers given the deadlines they lacked
    missing: dict[str, str]  # request number -> why it still has none
    arrivals: list[str]  # request numbers whose paid refund was given its arrival date


def deadlines_fill(*, now: dt.datetime | None = None) -> DeadlinesFilled:
    """Give open requests the deadlines that could not be computed when they moved (no holiday
    schedule for a year they reach), now that the calendar may know that year: each request's
    history is replayed with the same rule its moves used (`_clocks`), pauses included. A deadline
    a request already has is never changed. Paid refunds get the arrival dates they lack too.
    Safe to run any number of times."""
    from refunddesk.payments.services import refunds_arrival_fill

    now = now or timezone.now()
    filled: list[str] = []
    missing: dict[str, str] = {}
    ids = (RefundRequest.objects.filter(status__in=sorted(OPEN), timeline__data__has_key="deadline_error")
           .filter(Q(review_due_at=None) | Q(refund_due_at=None)).values_list("pk", flat=True).distinct()
           .order_by("pk"))
    for pk in ids:
        with transaction.atomic():
            req = RefundRequest.objects.select_for_update().get(pk=pk)
            replay = copy.copy(req)
            replay.review_due_at = replay.refund_due_at = replay.paused_at = None
            problems: dict = {}
            for event in req.timeline.exclude(from_status=F("to_status")).order_by("at", "pk"):
                _clocks(replay, event.from_status, event.to_status, event.at, problems)
            got = {attr: getattr(replay, attr) for attr in ("review_due_at", "refund_due_at")
                   if getattr(req, attr) is None and getattr(replay, attr) is not None}
            if "deadline_error" in problems:
                missing[req.public_id] = problems["deadline_error"]
            if not got:
                continue
            for attr, value in got.items():
                setattr(req, attr, value)
            req.save(update_fields=[*got, "updated_at"])
            _note(req, action="deadline_set", actor_kind=Actor.SYSTEM, visible=False, now=now,
                  data={attr: value.isoformat() for attr, value in got.items()})
            filled.append(req.public_id)
    arrivals = [refund.request.public_id if refund.request else f"refund {refund.pk}"
                for refund in refunds_arrival_fill()]
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

"""Refund execution: money goes back through the original gateway, exactly once.

The protocol (each numbered step is one short transaction, so a crash between any two
leaves a state the next run or `refunddesk reconcile` can finish):

1. approval creates the Refund (one per request: a unique key) with its idempotency key,
   reserves the amount against the order, moves the request to `refunding` and enqueues
   `refund_execute` -- all in the approval's own transaction;
2. `refund_send` marks the refund `submitted` and counts the attempt (committed *before*
   anything leaves the building);
3. the gateway is called with the same idempotency key every time;
4. the answer is applied under a row lock; a final state never changes again.

A refund that is `submitted` is never sent blind: it is first looked up at the gateway
(`fetch`); only a gateway that has never seen the key gets the command again.

No gateway state is final just because we saw it once (docs/architecture.md, rules for money 2): what the
gateway says *now* (an answer to `fetch` or `list_refunds`: "authoritative") may move even a final
refund: succeeded -> failed is a reversal (the order's refunded amount goes back down, the request
shows it, the customer is told, finance sees it), failed -> succeeded a late success. A webhook's
payload may be stale or out of order, so when it contradicts a final state the gateway is asked again
(`refund_recheck` task) instead of being believed. Refunds made outside refunddesk are found by
listing the charge's refunds (`charge_reconcile`), on a charge summary webhook and periodically for
charges with recent activity.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from refunddesk.billing.models import Order
from refunddesk.core import queued, roles
from refunddesk.core.errors import ConfigurationError, Conflict, NotFound, PermissionDenied, ValidationError
from refunddesk.core.faults import crash_point
from refunddesk.core.money import Money
from refunddesk.core.vocabulary import STORE_CHANNELS
from refunddesk.payments.gateways.base import (
    ABNORMAL,
    FAILED,
    PENDING,
    SUCCEEDED,
    GatewayResult,
    RefundCommand,
    RefundQuery,
)
from refunddesk.payments.models import FINAL, RESERVING, Origin, Refund, RefundStatus
from refunddesk.payments.registry import gateway_for
from refunddesk.refunds import lifecycle

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CHECK_AFTER = dt.timedelta(seconds=5)
#: How often an abnormal refund (waiting for the merchant at the gateway) is looked at again.
ABNORMAL_CHECK_AFTER = dt.timedelta(hours=1)
STORE_GATEWAYS = STORE_CHANNELS  # an app store's orders name it as their gateway


def backoff(attempt: int) -> dt.timedelta:
    """2s, 4s, 8s ... capped at 10 minutes."""
    return dt.timedelta(seconds=min(2 ** max(attempt, 1), 600))


def arrival_days(payment_method: str) -> tuple[int, int]:
    table = settings.REFUNDDESK_ARRIVAL_DAYS
    low, high = table.get(payment_method, table["other"])
    return int(low), int(high)


def _reserved_minor(order: Order, exclude_pk: int | None = None) -> int:
    rows = Refund.objects.filter(order=order, status__in=RESERVING)
    if exclude_pk:
        rows = rows.exclude(pk=exclude_pk)
    return rows.aggregate(total=Sum("amount_minor"))["total"] or 0


def refund_reserve(*, order: Order, amount: Money) -> None:
    """Caller holds the order's row lock. Refuse anything that would refund more than was paid."""
    reserved = max(_reserved_minor(order), order.refunded_minor)
    if reserved + amount.minor > order.amount_minor:
        left = Money(max(order.amount_minor - reserved, 0), order.currency)
        raise Conflict(_("A refund of %(amount)s would exceed what was paid on order %(order)s; %(left)s is left "
                         "to refund.") % {"amount": amount, "order": order.external_id, "left": left}, field="amount")


def money_requested_receive(sender, *, request, now: dt.datetime, **kwargs) -> str | None:
    """Receiver of refunds.lifecycle.money_requested: create the approved request's refund
    (`refund_create_for_request`) and answer why its money is held here (its gateway is not configured in
    this installation: payments.selectors.gateway_problem), or None when it is on its way."""
    from refunddesk.payments.selectors import gateway_problem

    refund_create_for_request(request=request, now=now)
    return gateway_problem(request.order.gateway)


def arrivals_fill_receive(sender, **kwargs) -> list[str]:
    """Receiver of refunds.lifecycle.deadlines_filled: `refunds_arrival_fill`, answered as request numbers."""
    return [refund.request.public_id if refund.request else f"refund {refund.pk}" for refund in refunds_arrival_fill()]


def refund_create_for_request(*, request, now: dt.datetime) -> Refund:
    """Called inside the approving transaction (request row locked). Enqueues execution in it."""
    from refunddesk.payments.tasks import refund_execute

    if Refund.objects.filter(request=request).exists():
        raise Conflict(_("This request already has a refund."))
    order = Order.objects.select_for_update(no_key=True).get(pk=request.order_id)
    amount = request.approved_amount
    if order.gateway in STORE_GATEWAYS:
        raise Conflict(_("Order %(order)s was paid through %(gateway)s; only the store can refund it.")
                       % {"order": order.external_id, "gateway": order.gateway})
    refund_reserve(order=order, amount=amount)
    low, high = arrival_days(order.payment_method)
    refund = Refund.objects.create(
        order=order, request=request, amount_minor=amount.minor, currency=amount.currency, gateway=order.gateway,
        charge_ref=order.gateway_charge_ref or order.external_id, idempotency_key=f"rd-{request.public_id}",
        arrival_min_days=low, arrival_max_days=high, created_at=now,
    )
    lifecycle.money_moved(request=request, event="started", refund=refund, now=now,
                          data={"refund": refund.idempotency_key, "gateway": refund.gateway})
    if order.gateway != "manual":
        queued.enqueue(refund_execute, refund_id=refund.pk)  # with the others of a batch (lifecycle.batch)
    return refund


def _command(refund: Refund) -> RefundCommand:
    return RefundCommand(
        idempotency_key=refund.idempotency_key, charge_ref=refund.charge_ref, amount=refund.amount,
        order_total=refund.order.amount, reason="requested_by_customer",
        notify_url=f"{settings.SITE_URL}/webhooks/{refund.gateway}/",
    )


@transaction.atomic
def refund_claim_attempt(*, refund_id: int, now: dt.datetime, recheck: bool = False) -> tuple[Refund, str]:
    """Step 2. Returns (refund, what to do): 'send', 'fetch', 'busy' or 'done'. With `recheck` a final
    refund is looked up too (what the gateway holds now may have moved: a reversal)."""
    refund = Refund.objects.select_for_update(of=("self",), no_key=True).select_related("order").get(pk=refund_id)
    if refund.gateway == "manual" or (refund.final and not recheck):
        return refund, "done"
    if refund.final:
        return refund, "fetch"
    clock = timezone.now()
    if refund.lease_until and refund.lease_until > clock:
        return refund, "busy"  # another worker is talking to the gateway about it right now
    refund.lease_until = clock + dt.timedelta(seconds=settings.REFUNDDESK_REFUND_LEASE_SECONDS)
    if refund.status in (RefundStatus.SUBMITTED, RefundStatus.NEEDS_ATTENTION):
        refund.save(update_fields=["lease_until"])
        return refund, "fetch"  # it may have gone out: ask before anything else
    refund.status = RefundStatus.SUBMITTED
    refund.attempts += 1  # the row is locked: no other writer (no F() and read back)
    refund.submitted_at = refund.submitted_at or now
    refund.save(update_fields=["status", "attempts", "submitted_at", "lease_until"])
    return refund, "send"


@transaction.atomic
def refund_apply_result(*, refund_id: int, result: GatewayResult, now: dt.datetime,
                        authoritative: bool = True) -> Refund:
    """Step 4: apply what the gateway says about one refund, under the refund's row lock.

    `authoritative`: `result` is the gateway's answer now (`fetch`, `list_refunds`, the answer to the
    refund call). Otherwise it came in a webhook payload, which may be stale or out of order: it moves
    a refund forward, but where it contradicts a final state the gateway is asked again (a
    `refund_recheck` task is queued) instead. Moves of a final refund (authoritative only):
    succeeded -> failed/abnormal is a reversal, failed -> succeeded a late success. An answer about an
    earlier attempt of this refund (another idempotency key) or with another amount changes no money
    and is put in front of finance as a disagreement."""
    refund = Refund.objects.select_for_update(of=("self",), no_key=True).select_related("order", "request").get(pk=refund_id)
    if result.idempotency_key and result.idempotency_key != refund.idempotency_key:
        if result.status == SUCCEEDED:
            _disagree(refund, f"an earlier attempt ({result.idempotency_key}) succeeded at the gateway: "
                              f"{result.amount} under {result.gateway_ref}", now)
        return refund
    if result.amount.minor != refund.amount_minor or result.amount.currency != refund.currency:
        text = f"the gateway reports {result.amount} for a refund of {refund.amount}"
        return _disagree(refund, text, now) if refund.final else _needs_attention(refund, text, now)
    if refund.final:
        moves = (refund.status == RefundStatus.SUCCEEDED and result.status in (FAILED, ABNORMAL)) or (
            refund.status == RefundStatus.FAILED and result.status == SUCCEEDED)
        if not moves:
            return refund
        if not authoritative:
            _recheck_enqueue(refund)
            return refund
        if refund.status == RefundStatus.SUCCEEDED:
            return _reverse(refund, result, now)
        return _late_success(refund, result, now)
    if result.gateway_ref:
        refund.gateway_ref = result.gateway_ref
    if result.status == SUCCEEDED:
        return _succeed(refund, now=now)
    if result.status == FAILED:
        return _fail(refund, reason=result.failure_reason or "the gateway failed the refund", now=now)
    if result.status == ABNORMAL:
        refund.status = RefundStatus.NEEDS_ATTENTION
        refund.last_error = result.failure_reason or "the gateway could not deliver the refund"
        refund.next_check_at = now + ABNORMAL_CHECK_AFTER  # it may still succeed once the merchant acts
        _save(refund, ["status", "gateway_ref", "last_error", "next_check_at"])
        return refund
    refund.status = RefundStatus.SUBMITTED
    refund.next_check_at = now + CHECK_AFTER
    _save(refund, ["status", "gateway_ref", "next_check_at"])
    return refund


def _recheck_enqueue(refund: Refund) -> None:
    from refunddesk.payments.tasks import refund_recheck

    refund_recheck.enqueue(refund_id=refund.pk)


def _disagree(refund: Refund, text: str, now: dt.datetime) -> Refund:
    """Record what the gateway says that refunddesk does not hold (no money moves): finance sees it."""
    refund.disagreement = text[:2000]
    refund.disagreement_at = now
    refund.save(update_fields=["disagreement", "disagreement_at"])
    log.error("refund %s: disagreement with the gateway: %s", refund.idempotency_key, text)
    return refund


def _reverse(refund: Refund, result: GatewayResult, now: dt.datetime) -> Refund:
    """A refund that had succeeded failed at the gateway (the bank returned it): the money is not with the
    customer after all. The order's refunded amount goes back down; the request and the customer are told;
    finance sees it (failed, or needing attention while the gateway still waits for the merchant)."""
    reason = result.failure_reason or "the gateway reports it failed"
    Order.objects.filter(pk=refund.order_id).update(refunded_minor=F("refunded_minor") - refund.amount_minor)
    refund.reversed_at = now
    refund.failure_reason = f"reversed after it had succeeded: {reason}"
    if result.status == ABNORMAL:
        refund.status = RefundStatus.NEEDS_ATTENTION
        refund.last_error = reason
        refund.next_check_at = now + ABNORMAL_CHECK_AFTER
    else:
        refund.status = RefundStatus.FAILED
        refund.next_check_at = None
    _save(refund)
    log.error("refund %s reversed by %s after succeeding: %s", refund.idempotency_key, refund.gateway, reason)
    if refund.request_id:
        lifecycle.money_moved(request=refund.request, event="reversed", refund=refund, note=reason, now=now)
    return refund


def _late_success(refund: Refund, result: GatewayResult, now: dt.datetime) -> Refund:
    """A refund we hold as failed succeeded at the gateway after all: the money did go back."""
    order = Order.objects.select_for_update(no_key=True).get(pk=refund.order_id)
    if max(_reserved_minor(order, exclude_pk=refund.pk), order.refunded_minor) + refund.amount_minor \
            > order.amount_minor:
        return _disagree(refund, f"the gateway reports this failed refund as succeeded ({result.amount}), which "
                                 "would be more than was paid on the order", now)
    refund.failure_reason = ""
    if result.gateway_ref:
        refund.gateway_ref = result.gateway_ref
    return _succeed(refund, now=now)


def _save(refund: Refund, fields: list[str] | None = None) -> None:
    """Write the refund after a gateway call, releasing the worker's lease on it."""
    refund.lease_until = None
    refund.save(update_fields=[*fields, "lease_until"] if fields else None)


def _arrival_by(refund: Refund, settled_at: dt.datetime) -> dt.datetime | None:
    """When the money should have reached the customer: the payment method's longest time, in business
    days after the gateway settled it. None when a year it reaches has no holiday schedule (logged): that
    must not stop the money being recorded; `refunds_arrival_fill` computes it once the schedule is known."""
    from refunddesk.refunds.deadlines import due_after

    try:
        return due_after(settled_at, refund.arrival_max_days or 10)
    except ConfigurationError as exc:
        log.warning("arrival date of refund %s not computed: %s", refund.pk, exc)
        return None


def refunds_arrival_fill() -> list[Refund]:
    """The arrival dates that could not be computed for lack of a holiday schedule, computed now (from
    when each refund settled). Safe to run again."""
    filled = []
    for refund in (Refund.objects.filter(status=RefundStatus.SUCCEEDED, arrival_by=None, settled_at__isnull=False)
                   .select_related("request").order_by("pk")):
        refund.arrival_by = _arrival_by(refund, refund.settled_at)
        if refund.arrival_by is not None:
            refund.save(update_fields=["arrival_by"])
            filled.append(refund)
    return filled


def _succeed(refund: Refund, *, now: dt.datetime, user=None, note: str = "") -> Refund:
    from refunddesk.notify.webhooks import service_terminate_enqueue

    order = Order.objects.select_for_update(no_key=True).get(pk=refund.order_id)
    if order.refunded_minor + refund.amount_minor > order.amount_minor:
        # never book more than was paid (the order's check constraint would refuse it anyway)
        return _needs_attention(refund, f"the gateway reports {refund.amount} refunded, but only "
                                        f"{order.refundable_remaining} is left on order {order.external_id}", now)
    refund.status = RefundStatus.SUCCEEDED
    refund.settled_at = now
    refund.next_check_at = None
    refund.arrival_by = _arrival_by(refund, now)
    _save(refund)
    Order.objects.filter(pk=refund.order_id).update(
        refunded_minor=F("refunded_minor") + refund.amount_minor, service_ended_at=now,
    )
    if refund.request_id:
        lifecycle.money_moved(request=refund.request, event="succeeded", refund=refund, user=user, note=note,
                              now=now)
    service_terminate_enqueue(order=refund.order, refund=refund)
    return refund


def _fail(refund: Refund, *, reason: str, now: dt.datetime) -> Refund:
    refund.status = RefundStatus.FAILED
    refund.failure_reason = reason
    refund.settled_at = now
    refund.next_check_at = None
    _save(refund)
    if refund.request_id:
        lifecycle.money_moved(request=refund.request, event="failed", refund=refund, note=reason, now=now)
    return refund


def _needs_attention(refund: Refund, reason: str, now: dt.datetime) -> Refund:
    refund.status = RefundStatus.NEEDS_ATTENTION
    refund.last_error = reason
    refund.next_check_at = None
    _save(refund, ["status", "last_error", "next_check_at", "gateway_ref"])
    log.error("refund %s needs attention: %s", refund.idempotency_key, reason)
    return refund


@transaction.atomic
def refund_record_error(*, refund_id: int, error: str, retry: bool, now: dt.datetime) -> Refund:
    """A transient error (retry) puts the refund back to pending; it will be sent again, same key."""
    refund = Refund.objects.select_for_update(of=("self",), no_key=True).get(pk=refund_id)
    if refund.final:
        return refund
    refund.last_error = error[:2000]
    if retry and refund.attempts < MAX_ATTEMPTS:
        refund.status = RefundStatus.PENDING
        refund.next_check_at = now + backoff(refund.attempts)
    else:
        refund.status = RefundStatus.NEEDS_ATTENTION
        refund.next_check_at = None
    _save(refund, ["last_error", "status", "next_check_at"])
    return refund


@transaction.atomic
def refund_mark_submitted_unknown(*, refund_id: int, error: str, now: dt.datetime) -> Refund:
    """Ambiguous: it may have gone through. Settle by asking, never by sending again."""
    refund = Refund.objects.select_for_update(of=("self",), no_key=True).get(pk=refund_id)
    if refund.final:
        return refund
    refund.status = RefundStatus.SUBMITTED
    refund.last_error = error[:2000]
    refund.next_check_at = now + CHECK_AFTER
    _save(refund, ["status", "last_error", "next_check_at"])
    return refund


@transaction.atomic
def refund_declined(*, refund_id: int, reason: str, now: dt.datetime) -> Refund:
    refund = Refund.objects.select_for_update(of=("self",), no_key=True).select_related("order", "request").get(pk=refund_id)
    if refund.final:
        return refund
    return _fail(refund, reason=reason, now=now)


@transaction.atomic
def refund_after_fetch_none(*, refund_id: int, now: dt.datetime) -> Refund:
    """The gateway never saw this key: it is safe to send it (again), same key."""
    refund = Refund.objects.select_for_update(of=("self",), no_key=True).get(pk=refund_id)
    if refund.final:
        return refund
    refund.status = RefundStatus.PENDING
    refund.next_check_at = now
    _save(refund, ["status", "next_check_at"])
    return refund


@transaction.atomic
def refund_mark_paid(*, refund_id: int, user, reference: str, now: dt.datetime | None = None) -> Refund:
    """Finance records a manual refund as paid, with the bank's or gateway's reference."""
    now = now or timezone.now()
    if not roles.has_role(user, roles.FINANCE):
        raise PermissionDenied(_("Only finance can mark refunds as paid."))
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError(_("Give the payment reference (bank transfer or gateway number)."), field="reference")
    refund = Refund.objects.select_for_update(of=("self",), no_key=True).select_related("order", "request").filter(pk=refund_id).first()
    if refund is None:
        raise NotFound(_("There is no such refund."))
    if refund.status == RefundStatus.SUCCEEDED:
        raise Conflict(_("This refund is already %(status)s.") % {"status": refund.get_status_display()})
    if refund.origin != Origin.REFUNDDESK:
        raise Conflict(_("This refund was made outside refunddesk; settle it where it was made."))
    if refund.status == RefundStatus.FAILED:  # paid by other means after the gateway failed it
        refund_reserve(order=Order.objects.select_for_update(no_key=True).get(pk=refund.order_id), amount=refund.amount)
        refund.failure_reason = ""
    refund.gateway_ref = reference
    refund.marked_paid_by = user
    return _succeed(refund, now=now, user=user, note=reference)


@transaction.atomic
def refund_disagreement_clear(*, refund_id: int, user, note: str, now: dt.datetime | None = None) -> Refund:
    """Finance has looked into a disagreement with the gateway and settled it outside refunddesk: it leaves
    the finance page. `note` (what was checked) is required; it is kept in the request's timeline (staff
    only) when there is a request, and in the log. Raises PermissionDenied, ValidationError, NotFound."""
    now = now or timezone.now()
    if not roles.has_role(user, roles.FINANCE):
        raise PermissionDenied(_("Only finance can settle disagreements with the gateway."))
    note = (note or "").strip()
    if not note:
        raise ValidationError(_("Say what you checked."), field="note")
    refund = Refund.objects.select_for_update(of=("self",), no_key=True).select_related("request").filter(pk=refund_id).first()
    if refund is None:
        raise NotFound(_("There is no such refund."))
    if not refund.disagreement:
        raise Conflict(_("There is no disagreement on this refund."))
    log.info("refund %s: disagreement %r checked by %s: %s", refund.idempotency_key, refund.disagreement,
             user.get_username(), note)
    if refund.request_id:
        lifecycle.money_moved(request=refund.request, event="finance_note", user=user, now=now,
                              note=f"{refund.disagreement} — {note}")
    refund.disagreement, refund.disagreement_at = "", None
    refund.save(update_fields=["disagreement", "disagreement_at"])
    return refund


@transaction.atomic
def refund_retry(*, refund_id: int, user, now: dt.datetime | None = None) -> Refund:
    """Finance sends a failed or stuck refund again (same idempotency key, so never twice)."""
    from refunddesk.payments.tasks import refund_execute

    now = now or timezone.now()
    if not roles.has_role(user, roles.FINANCE):
        raise PermissionDenied(_("Only finance can retry refunds."))
    refund = Refund.objects.select_for_update(of=("self",), no_key=True).select_related("order", "request").get(pk=refund_id)
    if refund.status == RefundStatus.SUCCEEDED:
        raise Conflict(_("This refund has already succeeded."))
    if refund.origin != Origin.REFUNDDESK:
        raise Conflict(_("This refund was made outside refunddesk; settle it where it was made."))
    order = Order.objects.select_for_update(no_key=True).get(pk=refund.order_id)
    if refund.status == RefundStatus.FAILED:
        refund_reserve(order=order, amount=refund.amount)
        if refund.request_id:
            lifecycle.money_moved(request=refund.request, event="retried", user=user, now=now,
                                  data={"previous_key": refund.idempotency_key})
        # The gateway holds the failed attempt under the old key and would answer it again (Stripe keeps
        # an idempotent result for 24 hours, a failed refund for ever): a failed refund is final at the
        # gateway, so a new attempt gets a new key. Never for pending or ambiguous ones.
        refund.idempotency_key = next_attempt_key(refund.idempotency_key)
        refund.gateway_ref = ""
        refund.status = RefundStatus.PENDING
        refund.failure_reason = ""
        refund.settled_at = None
        refund.reversed_at = None
    refund.next_check_at = now
    refund.save()
    refund_execute.enqueue(refund_id=refund.pk)
    return refund


def attempt_base(key: str) -> str:
    """The key of a refund's first attempt: 'rd-ABC-3' -> 'rd-ABC' ('rd-ABC' -> 'rd-ABC')."""
    head, sep, tail = key.rpartition("-")
    return head if sep and tail.isdigit() and head.startswith("rd-") else key


def next_attempt_key(key: str) -> str:
    """The idempotency key of the next attempt after a failed one: 'rd-ABC' -> 'rd-ABC-2' -> 'rd-ABC-3'."""
    base = attempt_base(key)
    n = int(key[len(base) + 1:]) if key != base else 1
    return f"{base}-{n + 1}"


def refund_find(*, gateway: str, idempotency_key: str | None, gateway_ref: str | None) -> Refund | None:
    """Our refund that a gateway's word is about: by key (that of any attempt), else by gateway reference."""
    if idempotency_key:
        refund = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if refund is None:
            base = attempt_base(idempotency_key)
            refund = (Refund.objects.filter(idempotency_key=base).first()
                      or Refund.objects.filter(idempotency_key__startswith=f"{base}-").first()
                      if base.startswith("rd-") else None)
        if refund is not None:
            return refund
    if gateway_ref:
        return Refund.objects.filter(gateway=gateway, gateway_ref=gateway_ref).first()
    return None


def refund_record_external(*, gateway: str, charge_ref: str, gateway_ref: str, amount: Money,
                           origin: str = Origin.GATEWAY_DASHBOARD, now: dt.datetime | None = None,
                           other_refs: tuple[str, ...] = (), order: Order | None = None) -> Refund | None:
    """A refund made outside refunddesk (the gateway's dashboard, an app store): record it against its order.

    `amount` in the order's currency. `order`: the order the caller already matched (the store code matches
    renewals carefully); otherwise the order whose gateway charge reference is `charge_ref` or one of
    `other_refs` (further names of the same charge: Stripe's charge id and payment intent). Returns None when
    it was recorded before (same gateway reference: the check and the insert are one transaction), or no
    order holds the charge, or the currency differs (logged). A refund of more than is left on the order is
    recorded as needing attention and not added to the order's refunded amount."""
    now = now or timezone.now()
    refs = [r for r in (charge_ref, *other_refs) if r]
    with transaction.atomic():
        if Refund.objects.filter(gateway=gateway, gateway_ref=gateway_ref).exists():
            return None
        rows = Order.objects.select_for_update(no_key=True)
        order = (rows.filter(pk=order.pk) if order is not None
                 else rows.filter(gateway=gateway, gateway_charge_ref__in=refs)).first()
        if order is None:
            log.warning("%s reported refund %s for unknown charge %s; ignored", gateway, gateway_ref, charge_ref)
            return None
        if amount.currency != order.currency:
            log.error("%s refund %s in %s for an order in %s", gateway, gateway_ref, amount.currency, order.currency)
            return None
        room = order.amount_minor - order.refunded_minor
        refund = Refund.objects.create(
            order=order, origin=origin, amount_minor=amount.minor, currency=amount.currency, gateway=gateway,
            charge_ref=charge_ref, idempotency_key=f"ext-{gateway}-{gateway_ref}"[:64], gateway_ref=gateway_ref,
            status=RefundStatus.SUCCEEDED if amount.minor <= room else RefundStatus.NEEDS_ATTENTION,
            settled_at=now, created_at=now,
            last_error="" if amount.minor <= room else "the gateway refunded more than is left on the order",
        )
        if refund.status == RefundStatus.SUCCEEDED:
            Order.objects.filter(pk=order.pk).update(refunded_minor=F("refunded_minor") + amount.minor,
                                                     service_ended_at=now)
        return refund


@transaction.atomic
def refund_record_external_reversal(*, gateway: str, gateway_ref: str, reason: str,
                                    now: dt.datetime | None = None) -> Refund | None:
    """A store or gateway undid a refund it had made (Apple REFUND_REVERSED: "the App Store reversed a
    previously granted refund due to a dispute"): the recorded refund is reversed as any refund that fails
    after succeeding (the order's refunded amount goes back down; finance sees it). Returns the refund, or
    None when none was recorded under `gateway_ref` or it is not one that succeeded (a repeat)."""
    refund = Refund.objects.filter(gateway=gateway, gateway_ref=gateway_ref).first()
    if refund is None:
        return None
    refund = Refund.objects.select_for_update(of=("self",), no_key=True).select_related("order", "request").get(pk=refund.pk)
    if refund.status != RefundStatus.SUCCEEDED:
        return None
    return _reverse(refund, GatewayResult(status=FAILED, gateway_ref=gateway_ref, amount=refund.amount,
                                          failure_reason=reason), now or timezone.now())


def refund_external_lookup(*, gateway_id: str, idempotency_key: str, gateway_ref: str,
                           charge_refs: list[str]) -> Refund | None:
    """A refund we did not make, notified without its own amount (Alipay gives only the trade's total
    refunded): ask the gateway about that refund by its number, as for our own, and record the amount it
    answers. None when no order of ours holds the charge or the gateway does not hold it as succeeded.
    Raises the gateway's Retryable (the task tries again)."""
    order = Order.objects.filter(gateway=gateway_id, gateway_charge_ref__in=charge_refs).first()
    if order is None:
        return None
    query = RefundQuery(idempotency_key=idempotency_key, charge_ref=order.gateway_charge_ref,
                        amount=order.amount, order_total=order.amount, gateway_ref=gateway_ref)
    result = gateway_for(gateway_id).fetch(query)
    if result is None or result.status != SUCCEEDED:
        return None
    return refund_record_external(gateway=gateway_id, charge_ref=order.gateway_charge_ref, gateway_ref=gateway_ref,
                                  amount=result.amount)


__all__ = ["PENDING", "MAX_ATTEMPTS", "gateway_for"]


# --- execution (called by the worker task and by reconciliation) -----------------


def refund_execute_once(*, refund_id: int, now: dt.datetime | None = None, recheck: bool = False) -> Refund:
    """Send (or look up) the refund and apply the answer. Never sends a key the gateway already holds:
    a refund that may have gone out is looked up first, and sent again only if the gateway never saw it.

    `recheck`: look a final refund up too and apply what the gateway holds now (a reversal, a late
    success; a succeeded refund the gateway does not know becomes a disagreement for finance)."""
    from refunddesk.payments.gateways.errors import Ambiguous, Declined, GatewayConfigError, Retryable

    now = now or timezone.now()
    crash_point("after_claim")
    for _attempt in range(2):  # a lookup that finds nothing may be followed by one send
        refund, todo = refund_claim_attempt(refund_id=refund_id, now=now, recheck=recheck)
        if todo in ("done", "busy"):
            return refund
        if refund.final:
            return _recheck_final(refund, now=now)
        crash_point("after_key_stored" if todo == "send" else "before_fetch")
        try:
            gateway = gateway_for(refund.gateway)
            cmd = _command(refund)
        except (GatewayConfigError, ValueError) as exc:
            return refund_record_error(refund_id=refund_id, error=f"configuration: {exc}", retry=False, now=now)
        try:
            if todo == "fetch":
                result = gateway.fetch(cmd.query(refund.gateway_ref or None))
                if result is None:
                    refund_after_fetch_none(refund_id=refund_id, now=now)
                    continue
            else:
                result = gateway.refund(cmd)
        except Declined as exc:
            return refund_declined(refund_id=refund_id, reason=exc.reason, now=now)
        except Retryable as exc:
            return refund_record_error(refund_id=refund_id, error=str(exc), retry=True, now=now)
        except Ambiguous as exc:
            return refund_mark_submitted_unknown(refund_id=refund_id, error=str(exc), now=now)
        except GatewayConfigError as exc:  # e.g. the gateway refused our credentials: a person must look
            return refund_record_error(refund_id=refund_id, error=f"configuration: {exc}", retry=False, now=now)
        crash_point("after_gateway_before_commit")
        refund = refund_apply_result(refund_id=refund_id, result=result, now=now)
        crash_point("after_commit")
        return refund
    return Refund.objects.get(pk=refund_id)


def _recheck_final(refund: Refund, *, now: dt.datetime) -> Refund:
    """What the gateway holds now about a refund we hold as final; applied as authoritative."""
    from refunddesk.payments.gateways.errors import GatewayError

    try:
        result = gateway_for(refund.gateway).fetch(_command(refund).query(refund.gateway_ref or None))
    except (GatewayError, ValueError) as exc:
        _release(refund.pk)
        log.warning("refund %s: could not look it up again: %s", refund.idempotency_key, exc)
        raise
    if result is None:
        with transaction.atomic():
            locked = Refund.objects.select_for_update(of=("self",), no_key=True).get(pk=refund.pk)
            _release(locked.pk)
            if locked.status == RefundStatus.SUCCEEDED and locked.origin == Origin.REFUNDDESK:
                return _disagree(locked, "the gateway does not know this refund, which refunddesk holds as paid", now)
            return locked
    return refund_apply_result(refund_id=refund.pk, result=result, now=now)


def _release(refund_id: int) -> None:
    Refund.objects.filter(pk=refund_id).update(lease_until=None)


def refund_follow_up(refund: Refund) -> dt.datetime | None:
    """When the worker should look at this refund again (None: nothing more to do)."""
    if refund.final or refund.status == RefundStatus.NEEDS_ATTENTION or refund.gateway == "manual":
        return None
    return refund.next_check_at or timezone.now() + CHECK_AFTER


def refunds_due_for_check(*, now: dt.datetime, older_than: dt.timedelta) -> list[int]:
    """Refunds not final whose next check has come, or that nobody has touched for `older_than`."""
    stale = now - older_than
    rows = Refund.objects.filter(
        status__in=[RefundStatus.PENDING, RefundStatus.SUBMITTED, RefundStatus.NEEDS_ATTENTION]).exclude(gateway="manual")
    rows = rows.filter(
        Q(next_check_at__lte=now)  # needing attention: only those the gateway may still settle (abnormal)
        | Q(status=RefundStatus.SUBMITTED, submitted_at__lte=stale)  # asking is always safe
        | Q(next_check_at__isnull=True, created_at__lte=stale)  # never picked up (its job was lost)
    )
    return list(rows.order_by("created_at").values_list("pk", flat=True)[:1000])


def refunds_reconcile(*, now: dt.datetime | None = None, older_than: dt.timedelta = dt.timedelta(seconds=30)):
    """Ask the gateway about every refund that is not final and due for a look; settle what it says."""
    now = now or timezone.now()
    settled = []
    for refund_id in refunds_due_for_check(now=now, older_than=older_than):
        refund = refund_execute_once(refund_id=refund_id, now=now)
        settled.append(refund)
    return settled


# --- reconciling charges: what the gateway holds on a charge against what refunddesk holds -------


@dataclass
class ChargeReconciled:
    """What `charge_reconcile` did for one order: refunds made outside refunddesk it recorded, refunds whose
    state it moved (reversals included), and disagreements put in front of finance."""

    order: str
    listed: bool = True  # False: the gateway cannot list a charge's refunds; ours were looked up one by one
    recorded: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)


def charge_reconcile(*, order_id: int, now: dt.datetime | None = None) -> ChargeReconciled:
    """Compare every refund the gateway holds on the order's charge with ours and settle the difference.

    Gateways that list a charge's refunds (Stripe, the sandbox): each listed refund is matched to ours by
    key or gateway reference and its state applied as authoritative (a reversal, a late success); one we
    never made that succeeded is recorded as made outside refunddesk (the gateway's dashboard); one of
    ours that succeeded but is not listed is a disagreement. Others (Alipay, WeChat Pay): each of our
    refunds on the order is looked up with `fetch`. Network calls happen outside any transaction; each
    change is its own short transaction. Raises the gateway's Retryable / GatewayConfigError (the task
    retries)."""
    now = now or timezone.now()
    order = Order.objects.get(pk=order_id)
    report = ChargeReconciled(order=order.external_id)
    if order.gateway in STORE_GATEWAYS or order.gateway == "manual" or not order.gateway_charge_ref:
        return report
    gateway = gateway_for(order.gateway)
    listing = gateway.list_refunds(order.gateway_charge_ref, order.currency)
    ours = list(Refund.objects.filter(order=order).exclude(status=RefundStatus.PENDING))
    if listing is None:
        report.listed = False
        for refund in ours:
            if refund.origin == Origin.REFUNDDESK and refund.status != RefundStatus.FAILED:
                before = (refund.status, refund.disagreement)
                after = refund_execute_once(refund_id=refund.pk, now=now, recheck=True)
                _report_move(report, refund, before, after)
        return report
    seen: set[int] = set()
    for result in listing:
        refund = refund_find(gateway=order.gateway, idempotency_key=result.idempotency_key,
                             gateway_ref=result.gateway_ref)
        if refund is None:
            if result.status == SUCCEEDED and result.gateway_ref:
                made = refund_record_external(gateway=order.gateway, charge_ref=order.gateway_charge_ref,
                                              gateway_ref=result.gateway_ref, amount=result.amount, now=now)
                if made is not None:
                    report.recorded.append(f"{result.gateway_ref}: {result.amount}")
            continue  # a pending one is recorded once it succeeds; a failed one moved no money
        if refund.order_id != order.pk:
            continue
        seen.add(refund.pk)
        before = (refund.status, refund.disagreement)
        after = refund_apply_result(refund_id=refund.pk, result=result, now=now)
        _report_move(report, refund, before, after)
    for refund in ours:
        if refund.pk not in seen and refund.status == RefundStatus.SUCCEEDED and refund.gateway_ref:
            with transaction.atomic():
                locked = Refund.objects.select_for_update(of=("self",), no_key=True).get(pk=refund.pk)
                if locked.status == RefundStatus.SUCCEEDED and not locked.disagreement:
                    _disagree(locked, "the gateway lists no such refund on the charge, which refunddesk "
                                      "holds as paid", now)
                    report.disagreements.append(f"{refund.idempotency_key}: {locked.disagreement}")
    return report


def _report_move(report: ChargeReconciled, refund: Refund, before: tuple[str, str], after: Refund) -> None:
    if after.status != before[0]:
        report.moved.append(f"{after.idempotency_key}: {before[0]} -> {after.status}")
    if after.disagreement and after.disagreement != before[1]:
        report.disagreements.append(f"{after.idempotency_key}: {after.disagreement}")


def charges_with_recent_activity(*, now: dt.datetime | None = None, days: int | None = None) -> list[int]:
    """Orders (ids) paid through a gateway refunddesk drives whose charge saw refund activity in the last
    `days` (default REFUNDDESK_RECONCILE_RECENT_DAYS): a refund created or settled, or a refund request
    submitted. Their charges are reconciled periodically, so that a missed webhook is caught."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=days if days is not None else settings.REFUNDDESK_RECONCILE_RECENT_DAYS)
    orders = (Order.objects.exclude(gateway__in=(*STORE_GATEWAYS, "manual")).exclude(gateway_charge_ref="")
              .filter(Q(refunds__created_at__gte=since) | Q(refunds__settled_at__gte=since)
                      | Q(refund_requests__submitted_at__gte=since)))
    return sorted(set(orders.values_list("pk", flat=True)))


def charges_reconcile_enqueue(*, now: dt.datetime | None = None, days: int | None = None) -> int:
    """Queue a `charge_reconcile` task for every charge with recent activity; returns how many."""
    from refunddesk.payments.tasks import charge_reconcile as task

    ids = charges_with_recent_activity(now=now, days=days)
    for order_id in ids:
        task.enqueue(order_id=order_id)
    return len(ids)


__all__ += ["refund_execute_once", "refunds_reconcile", "charge_reconcile", "FINAL"]

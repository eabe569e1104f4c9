"""Inbound gateway webhooks: verified first, each event applied once, unknown references logged."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.utils import timezone

from refunddesk.billing.models import Order
from refunddesk.core.money import Money
from refunddesk.payments.gateways.base import (
    CHARGE_REFUNDED,
    FAILED,
    PENDING,
    REFUND_FAILED,
    REFUND_PENDING,
    REFUND_SUCCEEDED,
    SUCCEEDED,
    GatewayResult,
    RefundQuery,
    WebhookEvent,
)
from refunddesk.payments.gateways.errors import GatewayError
from refunddesk.payments.models import Refund, WebhookReceipt
from refunddesk.payments.registry import gateway_for
from refunddesk.payments.services import refund_apply_result, refund_execute_once, refund_record_external

log = logging.getLogger(__name__)
STATUS_OF = {REFUND_SUCCEEDED: SUCCEEDED, REFUND_FAILED: FAILED, REFUND_PENDING: PENDING}


def webhook_receive(*, gateway_id: str, headers: Mapping[str, str], body: bytes) -> list[str]:
    """Verify (raises WebhookRejected before anything is read), then apply each event once.

    Returns a line per event saying what happened (stored on the receipt too).
    """
    gateway = gateway_for(gateway_id)
    events = gateway.parse_webhook(headers, body)
    return [_apply(gateway_id, event) for event in events]


def _apply(gateway_id: str, event: WebhookEvent) -> str:
    try:
        with transaction.atomic():
            receipt = WebhookReceipt.objects.create(gateway=gateway_id, event_id=event.event_id, kind=event.kind,
                                                    payload={"raw": _safe(event.raw)})
    except IntegrityError:
        return f"{event.event_id}: already processed (replay ignored)"
    outcome = _settle(gateway_id, event)
    WebhookReceipt.objects.filter(pk=receipt.pk).update(outcome=outcome[:200])
    return f"{event.event_id}: {outcome}"


def _settle(gateway_id: str, event: WebhookEvent) -> str:
    now = timezone.now()
    refund = None
    if event.idempotency_key:
        refund = Refund.objects.filter(idempotency_key=event.idempotency_key).first()
    if refund is None and event.gateway_ref:
        refund = Refund.objects.filter(gateway=gateway_id, gateway_ref=event.gateway_ref).first()
    if event.kind == CHARGE_REFUNDED:
        # a summary for a charge: ask the gateway about each of our open refunds on it
        for open_refund in Refund.objects.filter(gateway=gateway_id, charge_ref=event.charge_ref).exclude(
            status__in=("succeeded", "failed")
        ):
            refund_execute_once(refund_id=open_refund.pk, now=now)
        return "charge summary: open refunds on the charge re-checked"
    if refund is not None:
        if refund.final:
            return f"refund {refund.idempotency_key} already {refund.status}; nothing changed"
        if event.amount is None:
            refund_execute_once(refund_id=refund.pk, now=now)  # ask the gateway for the full picture
            return f"refund {refund.idempotency_key} re-checked at the gateway"
        result = GatewayResult(status=STATUS_OF.get(event.kind, PENDING), gateway_ref=event.gateway_ref,
                               amount=event.amount, raw={}, failure_reason=getattr(event, "failure_reason", None))
        refund = refund_apply_result(refund_id=refund.pk, result=result, now=now)
        return f"refund {refund.idempotency_key} is {refund.status}"
    amount = event.amount
    if event.kind == REFUND_SUCCEEDED and event.charge_ref and event.gateway_ref and amount is None:
        amount = _amount_at_gateway(gateway_id, event)
    if event.kind == REFUND_SUCCEEDED and event.charge_ref and event.gateway_ref and amount is not None:
        other = tuple(event.charge_refs or ())  # every name the gateway gives the charge
        recorded = refund_record_external(gateway=gateway_id, charge_ref=event.charge_ref,
                                          gateway_ref=event.gateway_ref, amount=amount, now=now,
                                          other_refs=other)
        if recorded:
            return f"refund made outside refunddesk recorded on order {recorded.order.external_id}"
    log.warning("%s webhook %s about an unknown refund (%s / %s); ignored", gateway_id, event.event_id,
                event.idempotency_key, event.gateway_ref)
    return "unknown refund; logged and ignored"


def _amount_at_gateway(gateway_id: str, event: WebhookEvent) -> Money | None:
    """A refund we did not make, notified without its own amount (Alipay gives only the trade's total
    refunded): ask the gateway about that refund, as for our own, and take the amount it answers."""
    refs = [r for r in (event.charge_ref, *(event.charge_refs or ())) if r]
    order = Order.objects.filter(gateway=gateway_id, gateway_charge_ref__in=refs).first()
    if order is None or not event.idempotency_key:
        return None
    try:
        query = RefundQuery(idempotency_key=event.idempotency_key, charge_ref=event.charge_ref,
                            amount=order.amount, order_total=order.amount, gateway_ref=event.gateway_ref)
        result = gateway_for(gateway_id).fetch(query)
    except (ValueError, GatewayError) as exc:
        log.warning("%s refund %s: could not ask the gateway for its amount (%s)", gateway_id, event.gateway_ref, exc)
        return None
    return result.amount if result is not None and result.status == SUCCEEDED else None


def _safe(value):
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)

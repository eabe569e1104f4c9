"""Inbound gateway webhooks: verified first, then each event applied once.

Outside events arrive late, twice, out of order, or never (docs/architecture.md, rules for money 1). So:

* the receipt of an event and its effect commit in ONE transaction: an event whose processing fails
  halfway leaves no receipt, the sender is answered with an error, and its retry applies the event;
* nothing here calls a gateway: what needs the network (asking the gateway for the present state of a
  refund, listing a charge's refunds, looking up the amount of a refund made in Alipay's console) is a
  task queued in that same transaction, which the worker runs and retries;
* a payload that contradicts a final state is not believed: the gateway is asked again (see
  `payments.services.refund_apply_result`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from refunddesk.billing.models import Order
from refunddesk.payments.gateways.base import CHARGE_REFUNDED, REFUND_SUCCEEDED, GatewayResult, WebhookEvent
from refunddesk.payments.gateways.errors import GatewayConfigError, WebhookRejected
from refunddesk.payments.metrics import WEBHOOKS_REFUSED
from refunddesk.payments.models import Refund, RefundStatus, WebhookReceipt
from refunddesk.payments.registry import gateway_for
from refunddesk.payments.services import refund_apply_result, refund_find, refund_record_external

log = logging.getLogger(__name__)


def webhook_receive(*, gateway_id: str, headers: Mapping[str, str], body: bytes) -> list[str]:
    """Verify (raises WebhookRejected before anything is read), then apply each event once.

    Returns a line per event saying what happened (stored on its receipt too). A database error while
    applying an event propagates (the view answers 500 so that the gateway sends it again); events of the
    same delivery applied before it stay applied, and their repeat changes nothing. Each refusal is counted for
    /metrics (refunddesk_webhooks_refused_total)."""
    try:
        gateway = gateway_for(gateway_id)
        events = gateway.parse_webhook(headers, body)
        return [_apply(gateway_id, event) for event in events]
    except WebhookRejected:
        WEBHOOKS_REFUSED.labels(gateway_id, "rejected").inc()
        raise
    except GatewayConfigError:
        WEBHOOKS_REFUSED.labels(gateway_id, "unconfigured").inc()
        raise
    except DatabaseError:
        WEBHOOKS_REFUSED.labels(gateway_id, "database").inc()
        raise


def _apply(gateway_id: str, event: WebhookEvent) -> str:
    with transaction.atomic():
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
    """The event's effect: database writes and queued tasks only (runs inside the receipt's transaction)."""
    from refunddesk.payments.tasks import external_refund_record, refund_execute

    now = timezone.now()
    if event.kind == CHARGE_REFUNDED:
        return _charge_summary(gateway_id, event)
    refund = refund_find(gateway=gateway_id, idempotency_key=event.idempotency_key, gateway_ref=event.gateway_ref)
    if refund is not None:
        if event.amount is None:  # only a cumulative figure (Alipay): ask the gateway about this refund
            if refund.final and event.status == refund.status:
                return f"refund {refund.idempotency_key} already {refund.status}; nothing changed"
            if refund.final:
                _recheck(refund)
            else:
                refund_execute.enqueue(refund_id=refund.pk)
            return f"refund {refund.idempotency_key}: queued a look-up at the gateway"
        result = GatewayResult(status=event.status or "pending", gateway_ref=event.gateway_ref, amount=event.amount,
                               failure_reason=event.failure_reason, idempotency_key=event.idempotency_key)
        before = refund.status
        refund = refund_apply_result(refund_id=refund.pk, result=result, now=now, authoritative=False)
        if refund.status == before and refund.final and event.status not in (None, refund.status):
            return f"refund {refund.idempotency_key} is {refund.status}; the gateway says {event.status}: asking it again"
        return f"refund {refund.idempotency_key} is {refund.status}"
    if event.kind == REFUND_SUCCEEDED and event.charge_refs and event.gateway_ref:
        if event.amount is not None:
            recorded = refund_record_external(gateway=gateway_id, charge_ref=event.charge_ref or event.charge_refs[0],
                                              gateway_ref=event.gateway_ref, amount=event.amount, now=now,
                                              other_refs=tuple(event.charge_refs))
            if recorded:
                return f"refund made outside refunddesk recorded on order {recorded.order.external_id}"
        elif event.idempotency_key and Order.objects.filter(gateway=gateway_id,
                                                             gateway_charge_ref__in=event.charge_refs).exists():
            external_refund_record.enqueue(gateway_id=gateway_id, idempotency_key=event.idempotency_key,
                                           gateway_ref=event.gateway_ref, charge_refs=list(event.charge_refs))
            return "refund made outside refunddesk: queued a look-up of its amount"
    log.warning("%s webhook %s about an unknown refund (%s / %s); ignored", gateway_id, event.event_id,
                event.idempotency_key, event.gateway_ref)
    return "unknown refund; logged and ignored"


def _charge_summary(gateway_id: str, event: WebhookEvent) -> str:
    """A charge summary (Stripe `charge.refunded`: the total refunded on the charge). When it differs from
    what refunddesk holds as refunded, or one of our refunds on the charge is still open, the charge's
    refunds are listed at the gateway (a task) and the differences settled."""
    from refunddesk.payments.tasks import charge_reconcile

    ids = _orders(gateway_id, event.charge_refs)
    if not ids:
        log.warning("%s charge summary %s for unknown charge %s; ignored", gateway_id, event.event_id,
                    event.charge_ref)
        return "charge summary for an unknown charge; logged and ignored"
    queued = []
    for order in Order.objects.filter(pk__in=ids):
        open_refunds = Refund.objects.filter(order=order).exclude(
            status__in=(RefundStatus.SUCCEEDED, RefundStatus.FAILED)).exists()
        if event.amount is not None and event.amount.minor == order.refunded_minor and not open_refunds:
            continue
        charge_reconcile.enqueue(order_id=order.pk)
        queued.append(order.external_id)
    if not queued:
        return "charge summary agrees with refunddesk"
    return f"charge summary: reconciliation of order {', '.join(queued)} queued"


def _orders(gateway_id: str, refs: tuple[str, ...] | list[str]) -> list[int]:
    return list(Order.objects.filter(gateway=gateway_id, gateway_charge_ref__in=list(refs)).values_list("pk", flat=True))


def _recheck(refund: Refund) -> None:
    from refunddesk.payments.tasks import refund_recheck

    refund_recheck.enqueue(refund_id=refund.pk)


def _safe(value):
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)

"""Background work on refunds: thin wrappers over payments.services, run by `refunddesk worker`.

A task that could not reach the gateway queues itself again with backoff, up to a limit; the periodic
reconciliation in the worker catches whatever is still left after that."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tasks import task

from refunddesk.payments import services
from refunddesk.payments.gateways.errors import GatewayError

log = logging.getLogger(__name__)
MAX_TRIES = 8


def _again(task_obj, tries: int, **kwargs) -> None:
    if tries >= MAX_TRIES:
        log.error("%s %s: gave up after %d tries; periodic reconciliation will look again", task_obj.name, kwargs,
                  tries)
        return
    task_obj.using(run_after=timezone.now() + services.backoff(tries)).enqueue(tries=tries + 1, **kwargs)


@task(queue_name="refunds")
def refund_execute(*, refund_id: int) -> str:
    refund = services.refund_execute_once(refund_id=refund_id)
    when = services.refund_follow_up(refund)
    if when is not None:
        refund_execute.using(run_after=max(when, timezone.now())).enqueue(refund_id=refund_id)
    return refund.status


@task(queue_name="refunds")
def refund_recheck(*, refund_id: int, tries: int = 1) -> str:
    """Ask the gateway about a refund whose webhook contradicted its final state; apply what it holds now."""
    try:
        return services.refund_execute_once(refund_id=refund_id, recheck=True).status
    except (GatewayError, ValueError) as exc:
        _again(refund_recheck, tries, refund_id=refund_id)
        return f"not reached: {exc}"


@task(queue_name="refunds")
def charge_reconcile(*, order_id: int, tries: int = 1) -> str:
    """List the order's charge at its gateway and settle every difference (services.charge_reconcile)."""
    try:
        report = services.charge_reconcile(order_id=order_id)
    except GatewayError as exc:
        _again(charge_reconcile, tries, order_id=order_id)
        return f"not reached: {exc}"
    return (f"{report.order}: {len(report.recorded)} recorded, {len(report.moved)} moved, "
            f"{len(report.disagreements)} disagreement(s)")


@task(queue_name="refunds")
def external_refund_record(*, gateway_id: str, idempotency_key: str, gateway_ref: str, charge_refs: list[str],
                           tries: int = 1) -> str:
    """A refund made outside refunddesk, notified without its own amount (Alipay): ask the gateway for it
    and record it (services.refund_external_lookup)."""
    try:
        recorded = services.refund_external_lookup(gateway_id=gateway_id, idempotency_key=idempotency_key,
                                                   gateway_ref=gateway_ref, charge_refs=charge_refs)
    except GatewayError as exc:
        _again(external_refund_record, tries, gateway_id=gateway_id, idempotency_key=idempotency_key,
               gateway_ref=gateway_ref, charge_refs=charge_refs)
        return f"not reached: {exc}"
    return f"recorded on order {recorded.order.external_id}" if recorded else "nothing to record"


@task(queue_name="refunds")
def reconcile() -> int:
    return len(services.refunds_reconcile())

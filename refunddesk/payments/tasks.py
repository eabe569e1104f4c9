from __future__ import annotations

from django.utils import timezone
from django_tasks import task

from refunddesk.payments import services


@task(queue_name="refunds")
def refund_execute(*, refund_id: int) -> str:
    refund = services.refund_execute_once(refund_id=refund_id)
    when = services.refund_follow_up(refund)
    if when is not None:
        refund_execute.using(run_after=max(when, timezone.now())).enqueue(refund_id=refund_id)
    return refund.status


@task(queue_name="refunds")
def reconcile() -> int:
    return len(services.refunds_reconcile())

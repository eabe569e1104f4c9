"""Background work of the status app: compensation runs and their follow-ups."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="status")
def compensation_run(*, run_id: int) -> dict:
    """The console's "compensate" button: the whole run, resumable (a re-queued task continues it)."""
    from refunddesk.status.compensation import compensation_execute

    run = compensation_execute(run_id=run_id)
    return {"processed": run.processed, "created": run.created, "status": run.status}


@task(queue_name="refunds")
def compensation_apply(*, run_id: int, request_ids: list[int]) -> int:
    """Apply the policy's decision to a batch of compensation requests (emails, refunds)."""
    from refunddesk.status.compensation import apply_decisions

    return apply_decisions(run_id=run_id, request_ids=request_ids)

"""Background work of the refunds app (django-tasks on the database: core.worker runs it)."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="default")
def policy_replay_run(*, run_id: int) -> None:
    """Run a what-if replay the console started (refunds.replay.replay_run_execute)."""
    from refunddesk.refunds.replay import replay_run_execute

    replay_run_execute(run_id=run_id)

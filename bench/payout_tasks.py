"""The ceiling of bench/payouts.py: a task that does nothing, run by the same `refunddesk worker --batch`."""

from django_tasks import task


@task(queue_name="refunds")
def noop(*, n: int) -> int:
    """Nothing: what the worker's queue costs per task (claim, run, record the result)."""
    return n

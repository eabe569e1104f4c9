from __future__ import annotations

from django_tasks import task


@task(queue_name="email")
def policy_change_notify(*, version_id: int) -> int:
    """Email every customer with an active order about a major policy change, in their language."""
    from refunddesk.policies.notifications import policy_change_emails_enqueue

    return policy_change_emails_enqueue(version_id=version_id)

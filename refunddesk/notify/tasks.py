"""Background tasks that talk to the outside world: email."""

from __future__ import annotations

from django.core.mail import send_mail
from django_tasks import task


@task(queue_name="email")
def send_email(*, to: str, subject: str, body: str) -> None:
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[to], fail_silently=False)


@task(queue_name="webhooks")
def deliver_webhook(*, delivery_id: int) -> None:
    from refunddesk.notify.webhooks import webhook_attempt

    retry_at = webhook_attempt(delivery_id=delivery_id)
    if retry_at is not None:
        deliver_webhook.using(run_after=retry_at).enqueue(delivery_id=delivery_id)

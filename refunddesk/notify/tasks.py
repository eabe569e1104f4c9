"""Background tasks that talk to the outside world: email."""

from __future__ import annotations

from django.core.mail import EmailMessage, get_connection, send_mail
from django_tasks import task


@task(queue_name="email")
def send_email(*, to: str, subject: str, body: str) -> None:
    send_mail(subject=subject, message=body, from_email=None, recipient_list=[to], fail_silently=False)


@task(queue_name="email")
def send_emails(*, messages: list[dict]) -> int:
    """Several emails ({"to", "subject", "body"} each) over one connection to the mail server (Django's
    `send_messages`: every backend takes a list); queued by notify.services.emails_batched. Returns how many
    were sent. A failure fails the task, which may then send again the ones before it: as a single email's
    task, at least once."""
    with get_connection(fail_silently=False) as connection:
        return connection.send_messages([EmailMessage(subject=m["subject"], body=m["body"], to=[m["to"]],
                                                      connection=connection) for m in messages]) or 0


@task(queue_name="webhooks")
def deliver_webhook(*, delivery_id: int) -> None:
    from refunddesk.notify.webhooks import webhook_attempt

    retry_at = webhook_attempt(delivery_id=delivery_id)
    if retry_at is not None:
        deliver_webhook.using(run_after=retry_at).enqueue(delivery_id=delivery_id)

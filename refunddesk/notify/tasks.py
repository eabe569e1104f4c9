"""Background tasks that talk to the outside world: email."""

from __future__ import annotations

from django.core.mail import EmailMessage, get_connection
from django_tasks import task


@task(queue_name="email")
def send_email(*, to: str, subject: str, body: str, headers: dict[str, str] | None = None,
               reply_to: str | None = None) -> None:
    """Send one plain-text email to `to` from DEFAULT_FROM_EMAIL. `headers` (e.g. Message-ID, In-Reply-To,
    Auto-Submitted) and `reply_to` are set as given; raises what the mail backend raises (the task is retried)."""
    EmailMessage(subject=subject, body=body, to=[to], headers=headers or None,
                 reply_to=[reply_to] if reply_to else None).send(fail_silently=False)


@task(queue_name="email")
def send_emails(*, messages: list[dict]) -> int:
    """Several emails ({"to", "subject", "body"}, optionally "headers" and "reply_to", each) over one connection to the mail server (Django's
    `send_messages`: every backend takes a list); queued by notify.services.emails_batched. Returns how many
    were sent. A failure fails the task, which may then send again the ones before it: as a single email's
    task, at least once."""
    with get_connection(fail_silently=False) as connection:
        return connection.send_messages([
            EmailMessage(subject=m["subject"], body=m["body"], to=[m["to"]], headers=m.get("headers") or None,
                         reply_to=[m["reply_to"]] if m.get("reply_to") else None, connection=connection)
            for m in messages]) or 0


@task(queue_name="webhooks")
def deliver_webhook(*, delivery_id: int) -> None:
    from refunddesk.notify.webhooks import webhook_attempt

    retry_at = webhook_attempt(delivery_id=delivery_id)
    if retry_at is not None:
        deliver_webhook.using(run_after=retry_at).enqueue(delivery_id=delivery_id)

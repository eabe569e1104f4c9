"""Background work of the portal, run by `refunddesk worker`."""

from __future__ import annotations

from django_tasks import task

from refunddesk.portal import services


@task(queue_name="email")
def sign_in_link_deliver(*, email: str, language: str | None = None) -> None:
    """Decide whether `email` gets a sign-in link and queue it (services.sign_in_link_send). Returns
    nothing, so the task's stored result does not record whether the address has an account."""
    services.sign_in_link_send(email=email, language=language)

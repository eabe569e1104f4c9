"""Emails to customers, in their language, always sent by the worker (never inside a request).

Each kind of email is a pair of templates, `notify/email/<language>/<kind>.txt`, whose first
line is the subject. They are rendered now (inside the caller's transaction) and enqueued in
the same transaction, so an email exists exactly when the change it reports was committed.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation

from refunddesk.core.i18n import is_zh
from refunddesk.core.queued import Collector
from refunddesk.notify.tasks import send_email, send_emails

LANGUAGES = ("zh-hans", "en")
KINDS = (
    "received", "info_needed", "offer_made", "decided", "appeal_received", "appeal_decided", "refund_sent",
    "refund_failed", "refund_reversed", "policy_changed", "answer_reminder", "no_answer_outcome",
    # channels: answers to messages that are not (yet) on a request, and an agent's message
    "how_to_apply", "which_order", "wechat_how_to_link", "wechat_linked", "agent_message",
)


def language_of(code: str | None) -> str:
    return "zh-hans" if is_zh(code) else "en"


def render_email(*, kind: str, language: str, context: dict) -> tuple[str, str]:
    lang = language_of(language)
    with translation.override(lang):
        text = render_to_string(f"notify/email/{lang}/{kind}.txt", {**context, "lang": lang})
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"


def email_enqueue(*, to: str, kind: str, language: str, context: dict, headers: dict[str, str] | None = None,
                  reply_to: str | None = None) -> None:
    """Render email `kind` (KINDS) in `language` now and queue it to `to` in the caller's transaction, with
    optional extra `headers` and a `reply_to` address: one `send_email` task, or, inside `emails_batched()`, a
    part of that batch's one `send_emails` task. Raises ValueError for an unknown kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    subject, body = render_email(kind=kind, language=language, context=context)
    send_text_enqueue(to=to, subject=subject, body=body, headers=headers, reply_to=reply_to)


def send_text_enqueue(*, to: str, subject: str, body: str, headers: dict[str, str] | None = None,
                      reply_to: str | None = None) -> None:
    """Queue an already rendered email (the worker sends it: tasks.send_email, or tasks.send_emails for the
    batch `emails_batched()` is collecting)."""
    message = {"to": to, "subject": subject, "body": body}
    if headers:
        message["headers"] = headers
    if reply_to:
        message["reply_to"] = reply_to
    messages = _emails.items
    if messages is not None:
        messages.append(message)
        return
    send_email.enqueue(**message)


def _send_batch(messages: list[dict]) -> None:
    if messages:
        send_emails.enqueue(messages=messages)


_emails = Collector(_send_batch)


def emails_batched():
    """The emails queued inside are queued as ONE task at the end (`send_emails`: one connection to the mail
    server for all of them) instead of a task each. Nested: the outermost queues. Nothing is queued when the
    block raises."""
    return _emails.collecting()

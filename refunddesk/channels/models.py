"""Conversations with customers outside the portal: email, WeChat customer service (微信客服) and the site's
own inbox (站内信). Every message in or out is one `Message`, on the request it belongs to when known."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunddesk.billing.models import Customer
from refunddesk.refunds.models import RefundRequest


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")
    SITE = "site", _("Site message")


def _token() -> str:
    """The reply token of a thread: 80 random bits, lower-case (mail systems may lower-case the local part)."""
    return secrets.token_hex(10)


class Thread(models.Model):
    """Where replies go: one per request (or per customer / unknown sender before there is a request). Its
    `token` is in the Reply-To address of every email refunddesk sends (refunds+<token>@...)."""

    token = models.CharField(max_length=40, unique=True, default=_token, editable=False)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="threads")
    request = models.OneToOneField(RefundRequest, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="thread")
    address = models.CharField(max_length=254, blank=True, help_text="an unknown sender's address")
    created_at = models.DateTimeField(default=timezone.now)


class Message(models.Model):
    """One message in or out on one channel. Inbound messages are stored once per channel and `external_id`
    (the email's Message-ID, WeCom's msgid); outbound emails keep the Message-ID refunddesk gave them, so a
    reply's In-Reply-To / References find them."""

    class Direction(models.TextChoices):
        IN = "in", _("from the customer")
        OUT = "out", _("to the customer")

    class Status(models.TextChoices):
        # inbound
        REQUEST_CREATED = "request_created", _("became a request")
        JOINED = "joined", _("added to the request")
        NEEDS_AGENT = "needs_agent", _("kept for an agent")
        UNKNOWN_SENDER = "unknown_sender", _("unknown sender, told how to apply")
        AUTOMATED = "automated", _("automatic message, not answered")
        LINKED = "linked", _("linked WeChat to the customer")
        HANDLED = "handled", _("handled by an agent")
        # outbound
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        FAILED = "failed", _("not delivered")

    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    request = models.ForeignKey(RefundRequest, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="messages")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    sender = models.CharField(max_length=254, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True, help_text="what agents read: quoted history and signature stripped")
    original = models.TextField(blank=True, help_text="the whole text as received, quoted history and signature included (WeCom: its JSON)")
    kind = models.CharField(max_length=40, blank=True, help_text="the notification kind, for outbound notices")
    author = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reply_channel = models.CharField(max_length=10, choices=Channel.choices, blank=True,
                                     help_text="where the answer to this message goes")
    data = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True, help_text="when the customer read it in the portal")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "direction", "external_id"],
                                    condition=~models.Q(external_id=""), name="message_once_per_channel"),
        ]


class WeChatLink(models.Model):
    """A customer's WeChat identity at the merchant's customer-service account (external_userid), and the
    state of WeChat's window: 48 hours after the customer's last message, 5 messages per customer message."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="wechat")
    external_userid = models.CharField(max_length=128, unique=True)
    open_kfid = models.CharField(max_length=128)
    linked_at = models.DateTimeField(default=timezone.now)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    sent_since_inbound = models.PositiveIntegerField(default=0)


class WeChatLinkCode(models.Model):
    """A one-time code a signed-in customer gets in the portal and sends in the WeChat chat to link it."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=20, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class Cursor(models.Model):
    """Where a pull left off: the IMAP mailbox's UIDVALIDITY and last UID, WeCom sync_msg's next_cursor."""

    name = models.CharField(max_length=200, unique=True)
    value = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

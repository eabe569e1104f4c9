"""Outbound webhooks to the merchant's product, signed with HMAC-SHA256.

Headers: `X-Refunddesk-Event`, `X-Refunddesk-Delivery` (the event id; the same on every retry, so
the receiver can drop duplicates) and `X-Refunddesk-Signature: t=<unix time>,v1=<hex>` where v1 is
HMAC-SHA256(secret, f"{t}.{body}"). Retried with exponential backoff up to MAX_ATTEMPTS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import uuid

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from refunddesk.notify.models import WebhookDelivery

MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 10


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (and what our tests do)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def service_terminate_enqueue(*, order, refund) -> WebhookDelivery:
    """Tell the merchant's product to end the service of this order (in the caller's transaction)."""
    payload = {
        "type": "service.terminate",
        "order_id": order.external_id,
        "customer_id": order.customer.external_id,
        "refund": {"id": refund.idempotency_key, "amount": str(refund.amount.amount), "currency": refund.currency},
        "ended_at": timezone.now().isoformat(),
    }
    return webhook_enqueue(event="service.terminate", payload=payload)


def webhook_enqueue(*, event: str, payload: dict) -> WebhookDelivery:
    from refunddesk.notify.tasks import deliver_webhook

    url = settings.REFUNDDESK_MERCHANT_WEBHOOK_URL
    delivery = WebhookDelivery.objects.create(
        event=event, event_id=uuid.uuid4().hex, url=url, payload={**payload, "event": event},
        status=WebhookDelivery.Status.PENDING if url else WebhookDelivery.Status.SKIPPED,
    )
    if url:
        deliver_webhook.enqueue(delivery_id=delivery.pk)
    return delivery


def webhook_attempt(*, delivery_id: int) -> dt.datetime | None:
    """Send once. Returns when to try again, or None when done (delivered or given up)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update(no_key=True).get(pk=delivery_id)
        if delivery.status != WebhookDelivery.Status.PENDING:
            return None
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
    body = json.dumps({**delivery.payload, "id": delivery.event_id}, sort_keys=True).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "X-Refunddesk-Event": delivery.event,
        "X-Refunddesk-Delivery": delivery.event_id,
        "X-Refunddesk-Signature": sign(settings.REFUNDDESK_MERCHANT_WEBHOOK_SECRET, stamp, body),
    }
    code, error = None, ""
    try:
        response = requests.post(delivery.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS)
        code = response.status_code
        ok = 200 <= code < 300
        if not ok:
            error = f"HTTP {code}: {response.text[:200]}"
    except requests.RequestException as exc:
        ok, error = False, f"{type(exc).__name__}: {exc}"[:500]
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update(no_key=True).get(pk=delivery_id)
        delivery.last_status_code, delivery.last_error = code, error
        delivery.log = [*delivery.log, {"at": now.isoformat(), "status": code, "error": error}]
        retry_at = None
        if ok:
            delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, now
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            retry_at = now + dt.timedelta(seconds=min(2 ** delivery.attempts, 3600))
        delivery.save()
    return retry_at

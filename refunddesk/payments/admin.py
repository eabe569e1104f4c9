from django.contrib import admin

from refunddesk.core.admin import ReadOnlyAdmin
from refunddesk.payments.models import Refund, WebhookReceipt


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    """Read-only: money moves only through the refund services (finance acts in the console)."""

    list_display = ("idempotency_key", "order", "amount_minor", "currency", "gateway", "status", "origin",
                    "attempts", "gateway_ref", "created_at", "settled_at")
    list_filter = ("status", "gateway", "origin")
    search_fields = ("idempotency_key", "gateway_ref", "order__external_id", "charge_ref")


@admin.register(WebhookReceipt)
class WebhookReceiptAdmin(admin.ModelAdmin):
    list_display = ("gateway", "event_id", "kind", "received_at", "outcome")
    list_filter = ("gateway", "kind")
    readonly_fields = ("gateway", "event_id", "kind", "received_at", "outcome", "payload")

from django.contrib import admin

from refunddesk.notify.models import WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log of outbound webhooks (service.terminate), every attempt with its answer."""

    list_display = ("event", "event_id", "status", "attempts", "last_status_code", "created_at", "delivered_at")
    list_filter = ("status", "event")
    readonly_fields = ("event", "event_id", "url", "payload", "status", "attempts", "last_status_code",
                       "last_error", "created_at", "delivered_at", "log")

    def has_add_permission(self, request):
        return False

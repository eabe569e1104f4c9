from django.contrib import admin

from refunddesk.channels.models import Message, WeChatLink


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Every message in and out, on every channel (read-only): what was received, what it caused, what was sent."""

    list_display = ("created_at", "channel", "direction", "status", "sender", "recipient", "subject", "request")
    list_filter = ("channel", "direction", "status")
    search_fields = ("sender", "recipient", "subject", "external_id", "request__public_id")
    raw_id_fields = ("thread", "customer", "request", "author")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WeChatLink)
class WeChatLinkAdmin(admin.ModelAdmin):
    """A customer's WeChat identity: customers link it themselves with a code from the portal; an administrator
    who knows both (the external_userid from a message kept for an agent) can link it here."""

    list_display = ("customer", "external_userid", "open_kfid", "linked_at", "last_inbound_at", "sent_since_inbound")
    search_fields = ("external_userid", "customer__email", "customer__external_id")
    raw_id_fields = ("customer",)
    readonly_fields = ("last_inbound_at", "sent_since_inbound")

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from refunddesk.core.models import ApiKey, User
from refunddesk.core.services import api_key_create

admin.site.site_header = "refunddesk"


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that change only through their services (requests, refunds): look, never touch."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class RefundDeskUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("refunddesk", {"fields": ("language",)}),)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "active", "created_at", "last_used_at")
    fields = ("name", "active", "prefix", "created_at", "last_used_at")
    readonly_fields = ("prefix", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = api_key_create(name=obj.name)
        obj.pk = key.pk
        messages.warning(request, f"Copy this key now; it is not shown again: {raw}")

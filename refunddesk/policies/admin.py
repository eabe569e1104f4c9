from django.contrib import admin

from refunddesk.policies.models import PolicyVersion


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    """Published versions are read-only; publish new ones from the console or `refunddesk policy publish`."""

    list_display = ("policy_id", "version", "effective_at", "major_change", "published_at", "published_by")
    readonly_fields = ("policy_id", "version", "title_en", "title_zh", "document", "cases", "checksum",
                       "effective_at", "major_change", "change_note", "published_at", "published_by")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

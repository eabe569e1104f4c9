from django.contrib import admin

from refunddesk.core.admin import ReadOnlyAdmin
from refunddesk.refunds.models import Evidence, Mediation, RefundRequest, TimelineEvent


class TimelineInline(admin.TabularInline):
    model = TimelineEvent
    extra = 0
    can_delete = False
    fields = ("at", "actor", "actor_kind", "action", "from_status", "to_status", "clause", "override", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class EvidenceInline(admin.TabularInline):
    model = Evidence
    extra = 0
    can_delete = False
    readonly_fields = ("original_name", "content_type", "size", "sha256", "uploaded_at")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdmin):
    """Read-only: every change of a request goes through the workflow (console or API)."""

    list_display = ("public_id", "order", "customer", "reason", "status", "policy_clause", "override",
                    "review_due_at", "assignee")
    list_filter = ("status", "reason", "override", "policy_outcome")
    search_fields = ("public_id", "order__external_id", "customer__email")
    list_select_related = ("order", "customer", "assignee")
    inlines = [EvidenceInline, TimelineInline]


@admin.register(Mediation)
class MediationAdmin(admin.ModelAdmin):
    list_display = ("request", "mediator", "recorded_by", "recorded_at")

from django.contrib import admin

from refunddesk.billing.models import Customer, Order, Plan, PlanPrice, SupportContact, UsageRecord
from refunddesk.billing.services import order_frozen_fields


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "email", "name", "region", "language", "tos_violation")
    list_filter = ("region", "language", "tos_violation")
    search_fields = ("external_id", "email", "name")


class PlanPriceInline(admin.TabularInline):
    """The price history, as the billing import recorded it: read-only (only plan_upsert writes it)."""

    model = PlanPrice
    extra = 0
    can_delete = False
    fields = readonly_fields = ("currency", "price_minor", "effective_from", "recorded_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "period_days", "refund_window_days", "trial_hours", "refundable")
    # prices come from the billing import, which keeps their history (PUT /api/v1/plans/{id})
    readonly_fields = ("price_minor", "currency")
    inlines = [PlanPriceInline]


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = ("order", "days_used", "paid_features_used", "quota_used_ratio", "reported_at")
    raw_id_fields = ("order",)


class UsageInline(admin.StackedInline):
    model = UsageRecord
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("external_id", "customer", "plan", "amount_minor", "currency", "purchased_at",
                    "sales_channel", "payment_method", "gateway", "refunded_minor")
    list_filter = ("sales_channel", "payment_method", "gateway", "promotional", "currency")
    search_fields = ("external_id", "customer__email", "gateway_charge_ref")
    list_select_related = ("customer", "plan")
    raw_id_fields = ("customer",)
    inlines = [UsageInline]

    def get_readonly_fields(self, request, obj=None):
        """refunded_minor is the payments' to keep; the money fields and the customer freeze as in the
        billing import (billing.services.order_frozen_fields, docs/architecture.md money rule 5)."""
        frozen = order_frozen_fields(order=obj) if obj is not None and obj.pk else {}
        return ("refunded_minor", *frozen)


@admin.register(SupportContact)
class SupportContactAdmin(admin.ModelAdmin):
    list_display = ("external_id", "customer", "topic", "opened_at", "resolved")
    list_filter = ("resolved",)
    raw_id_fields = ("customer", "order")

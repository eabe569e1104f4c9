from django.contrib import admin

from refunddesk.billing.models import Customer, Order, Plan, SupportContact, UsageRecord


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "email", "name", "region", "language", "tos_violation")
    list_filter = ("region", "language", "tos_violation")
    search_fields = ("external_id", "email", "name")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "period_days", "refund_window_days", "trial_hours", "refundable")


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


@admin.register(SupportContact)
class SupportContactAdmin(admin.ModelAdmin):
    list_display = ("external_id", "customer", "topic", "opened_at", "resolved")
    list_filter = ("resolved",)
    raw_id_fields = ("customer", "order")

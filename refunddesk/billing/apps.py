from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "refunddesk.billing"
    label = "billing"
    verbose_name = "Billing"

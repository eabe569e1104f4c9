from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunddesk.refunds"
    label = "refunds"
    verbose_name = "Refund requests"

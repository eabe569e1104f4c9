from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "refunddesk.payments"
    label = "payments"
    verbose_name = "Payments"

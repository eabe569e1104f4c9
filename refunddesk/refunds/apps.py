from django.apps import AppConfig


class RefundsConfig(AppConfig):
    name = "refunddesk.refunds"
    label = "refunds"
    verbose_name = "Refund requests"

    def ready(self) -> None:
        from django.core import checks

        from refunddesk.refunds.checks import calendar_check

        checks.register(calendar_check, "refunddesk")

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "refunddesk.reports"
    label = "reports"
    verbose_name = "Reports and the finance ledger"

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "refunddesk.reports"
    label = "reports"
    verbose_name = "Reports and the finance ledger"

    def ready(self) -> None:
        """Registers the rebuild of the report figures with the worker (one worker per period)."""
        from refunddesk.core.worker import PeriodicJob, periodic_job_register
        from refunddesk.reports import services

        periodic_job_register(PeriodicJob("reports-figures", lambda: services.CHECK_SECONDS,
                                          services.figures_refresh_enqueue, shared=True))

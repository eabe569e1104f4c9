from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "refunddesk.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        """Payments answers calls of the apps below it without them importing payments (imports point down):
        an approved request's money (refunds.lifecycle.money_requested), the arrival dates that a newly known
        holiday year allows (refunds.lifecycle.deadlines_filled), and the warnings about an order the merchant
        pushes whose gateway is not configured (billing.selectors.order_checks)."""
        from refunddesk.billing.selectors import order_checks
        from refunddesk.payments import selectors, services
        from refunddesk.refunds.lifecycle import deadlines_filled, money_requested

        money_requested.connect(services.money_requested_receive, dispatch_uid="payments.money")
        deadlines_filled.connect(services.arrivals_fill_receive, dispatch_uid="payments.arrivals")
        order_checks.connect(selectors.order_gateway_warnings, dispatch_uid="payments.order_checks")

        from django.conf import settings

        from refunddesk.core.worker import PeriodicJob, periodic_job_register

        # refunds that are not final, asked about every REFUNDDESK_RECONCILE_SECONDS by every worker (a refund
        # is leased to one of them); charges with recent activity, queued once per period for the installation
        periodic_job_register(PeriodicJob("refunds-reconcile", lambda: settings.REFUNDDESK_RECONCILE_SECONDS,
                                          services.refunds_reconcile))
        from refunddesk.core.metrics import gauge_register
        from refunddesk.payments.metrics import refund_gauges

        gauge_register("refunds", refund_gauges)
        periodic_job_register(PeriodicJob("charges-reconcile", lambda: settings.REFUNDDESK_RECONCILE_CHARGES_SECONDS,
                                          services.charges_reconcile_enqueue, shared=True))

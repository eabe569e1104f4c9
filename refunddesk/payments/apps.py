from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "refunddesk.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        """Payments answers the refunds app's two calls without refunds importing payments (imports point
        down): an approved request's money (refunds.lifecycle.money_requested) and the arrival dates that a
        newly known holiday year allows (refunds.lifecycle.deadlines_filled)."""
        from refunddesk.payments import services
        from refunddesk.refunds.lifecycle import deadlines_filled, money_requested

        money_requested.connect(services.money_requested_receive, dispatch_uid="payments.money")
        deadlines_filled.connect(services.arrivals_fill_receive, dispatch_uid="payments.arrivals")

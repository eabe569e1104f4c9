from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "refunddesk.notify"
    label = "notify"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from refunddesk.core.metrics import gauge_register
        from refunddesk.notify.metrics import webhook_gauges

        gauge_register("webhooks", webhook_gauges)

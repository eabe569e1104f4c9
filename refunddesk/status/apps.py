from django.apps import AppConfig


class StatusConfig(AppConfig):
    name = "refunddesk.status"
    label = "status"
    verbose_name = "Service status"

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "refunddesk.core"
    label = "core"
    verbose_name = "Core"

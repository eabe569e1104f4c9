from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "refunddesk.console"
    label = "console"

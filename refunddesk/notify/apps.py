from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "refunddesk.notify"
    label = "notify"
    verbose_name = "Notifications"

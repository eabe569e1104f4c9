from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "refunddesk.portal"
    label = "portal"

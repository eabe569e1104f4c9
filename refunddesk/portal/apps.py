from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "refunddesk.portal"
    label = "portal"

    def ready(self) -> None:
        from refunddesk.portal import middleware  # noqa: F401 - connects the sign-in language receiver

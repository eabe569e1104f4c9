from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "refunddesk.portal"
    label = "portal"

    def ready(self) -> None:
        # The portal-session route (refunddesk/portal/api.py) joins the one NinjaAPI here, beside the routers
        # config/api.py registers; it belongs in config.api._register_routers once that file is free to edit.
        from config.api import api
        from refunddesk.portal.api import router

        api.add_router("/v1/", router)

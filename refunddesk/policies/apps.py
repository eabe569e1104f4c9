from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "refunddesk.policies"
    label = "policies"
    verbose_name = "Policies"

    def ready(self) -> None:
        """Explanations show dates in the merchant's time zone (the engine itself knows no settings)."""
        from zoneinfo import ZoneInfo

        from django.conf import settings

        from refunddesk.policies.facts import set_display_time_zone

        set_display_time_zone(ZoneInfo(settings.TIME_ZONE))

from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "refunddesk.policies"
    label = "policies"
    verbose_name = "Policies"

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "refunddesk.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        post_migrate.connect(_ensure_roles, dispatch_uid="refunddesk.roles")


def _ensure_roles(sender, **kwargs) -> None:
    from refunddesk.core.roles import roles_ensure

    roles_ensure(using=kwargs.get("using", "default"))

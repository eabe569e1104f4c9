from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "refunddesk.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core import checks

        from refunddesk.core import logs, lookups  # noqa: F401 - lookups registers `__any_of`
        from refunddesk.core.deployment import deployment_check
        from refunddesk.core.site_url import site_url_check

        checks.register(site_url_check, "refunddesk")
        checks.register(deployment_check, "refunddesk", deploy=True)
        logs.connect()

        post_migrate.connect(_ensure_roles, dispatch_uid="refunddesk.roles")
        post_migrate.connect(_ensure_cache_table, sender=self, dispatch_uid="refunddesk.cache_table")

        from django.db.models.signals import post_delete, post_save

        from refunddesk.core.models import ApiKey
        from refunddesk.core.services import api_keys_changed

        # a key created, revoked (active off) or deleted anywhere, the admin included: every process forgets
        post_save.connect(api_keys_changed, sender=ApiKey, dispatch_uid="refunddesk.api_keys_saved")
        post_delete.connect(api_keys_changed, sender=ApiKey, dispatch_uid="refunddesk.api_keys_deleted")


def _ensure_roles(sender, **kwargs) -> None:
    from refunddesk.core.roles import roles_ensure

    roles_ensure(using=kwargs.get("using", "default"))


def _ensure_cache_table(sender, **kwargs) -> None:
    """`migrate` also makes the cache table when CACHE_URL is db:// (the default), so nobody has to."""
    from django.core.management import call_command

    call_command("createcachetable", database=kwargs.get("using", "default"), verbosity=0)

from django.apps import AppConfig


class StatusConfig(AppConfig):
    name = "refunddesk.status"
    label = "status"
    verbose_name = "Service status"

    def ready(self) -> None:
        from django.db import transaction
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from refunddesk.status.models import Incident, IncidentUpdate, Region
        from refunddesk.status.selectors import status_stamp_bump

        def changed(sender, **kwargs):  # any write (services, admin, shell): the status page is redrawn
            transaction.on_commit(status_stamp_bump, using=kwargs.get("using"))

        for model in (Region, Incident, IncidentUpdate):
            post_save.connect(changed, sender=model, weak=False, dispatch_uid=f"status-stamp-save-{model.__name__}")
            post_delete.connect(changed, sender=model, weak=False, dispatch_uid=f"status-stamp-delete-{model.__name__}")
        m2m_changed.connect(changed, sender=Incident.regions.through, weak=False, dispatch_uid="status-stamp-regions")

"""Regions and incidents: what the public status page shows and what outage facts are made of."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunddesk.core.i18n import is_zh


class Region(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name_en = models.CharField(max_length=100)
    name_zh = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.code

    def name(self, language: str) -> str:
        return self.name_zh if is_zh(language) else self.name_en


class Severity(models.TextChoices):
    DEGRADED = "degraded", _("Degraded")
    OUTAGE = "outage", _("Outage")


class Incident(models.Model):
    title_en = models.CharField(max_length=200)
    title_zh = models.CharField(max_length=200)
    regions = models.ManyToManyField(Region, related_name="incidents")
    severity = models.CharField(max_length=20, choices=Severity.choices, default=Severity.OUTAGE)
    cause = models.TextField(_("cause"), blank=True)
    cause_zh = models.TextField(blank=True, help_text="the cause in Chinese; empty: the cause as written")
    force_majeure = models.BooleanField(_("force majeure"), default=False)
    force_majeure_note = models.TextField(blank=True)
    force_majeure_note_zh = models.TextField(blank=True)
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # who opened it: "console:<username>", "api:<key name>", "cli"
    source = models.CharField(max_length=120, blank=True)
    # the monitoring system's own id for the alert: opening twice with the same ref returns the same incident
    external_ref = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            models.UniqueConstraint(fields=["external_ref"], condition=~models.Q(external_ref=""),
                                    name="incident_external_ref_unique"),
            models.CheckConstraint(condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                                   name="incident_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.title_en

    @property
    def ongoing(self) -> bool:
        return self.ended_at is None

    def title(self, language: str) -> str:
        return self.title_zh if is_zh(language) else self.title_en

    def cause_text(self, language: str) -> str:
        return (self.cause_zh if is_zh(language) else "") or self.cause

    def force_majeure_text(self, language: str) -> str:
        return (self.force_majeure_note_zh if is_zh(language) else "") or self.force_majeure_note


class UpdateKind(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    UPDATE = "update", _("Update")
    RESOLVED = "resolved", _("Resolved")


class IncidentUpdate(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    at = models.DateTimeField(default=timezone.now)
    message_en = models.TextField()
    message_zh = models.TextField()
    kind = models.CharField(max_length=20, choices=UpdateKind.choices, default=UpdateKind.UPDATE)
    author = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def message(self, language: str) -> str:
        return self.message_zh if is_zh(language) else self.message_en


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FAILED = "failed", _("Stopped")
    DONE = "done", _("Done")


UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.FAILED)


class CompensationRun(models.Model):
    """One pass over the orders an incident affected. Resumable: every order it looked at has an item.

    Each batch commits its requests together with an item per order (whatever the outcome)
    and the counters, so a run that was killed continues with the orders that have no item
    yet; several processes can share a run (each locks the orders it takes, skipping locked
    ones). One unfinished run per incident (constraint).
    """

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="compensation_runs")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="affected orders found when the run started")
    processed = models.PositiveIntegerField(default=0, help_text="orders evaluated (or skipped)")
    last_order_id = models.BigIntegerField(default=0, help_text="the highest order id looked at so far")
    created = models.PositiveIntegerField(default=0, help_text="refund requests created")
    approved = models.PositiveIntegerField(default=0)
    review = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0, help_text="the policy refused: no request created")
    skipped = models.PositiveIntegerField(default=0, help_text="already had an open or outage request")
    applied = models.PositiveIntegerField(default=0, help_text="requests moved on (emails, refunds) by the worker")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    source = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # for the rate: what was processed when this process took the run over, and when
    resumed_at = models.DateTimeField(null=True, blank=True)
    processed_at_resume = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0, help_text="how many processes took the run up")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("compensation run")
        verbose_name_plural = _("compensation runs")
        constraints = [
            models.UniqueConstraint(fields=["incident"], condition=models.Q(status__in=[s.value for s in UNFINISHED]),
                                    name="one_unfinished_compensation_run_per_incident"),
        ]

    def __str__(self) -> str:
        return f"compensation run {self.pk} for incident {self.incident_id}"

    @property
    def finished(self) -> bool:
        return self.status == RunStatus.DONE

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.finished else 0
        return min(100, int(self.processed * 100 / self.total))

    @property
    def rate(self) -> float:
        """Orders per second since this process took the run up."""
        start = self.resumed_at or self.started_at
        end = self.finished_at or self.heartbeat_at
        if not start or not end or end <= start:
            return 0.0
        return (self.processed - self.processed_at_resume) / (end - start).total_seconds()


class CompensationItem(models.Model):
    """What a compensation run did with one order: the request it created, or why none.

    One per run and order (a run looks at an order once: what makes it resumable), and never
    two requests for the same incident and order.
    """

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(CompensationRun, on_delete=models.CASCADE, related_name="items")
    request = models.ForeignKey("refunds.RefundRequest", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    # approve, review (a request was created), reject (the policy refused: none), skipped
    outcome = models.CharField(max_length=20)
    clause = models.CharField(max_length=100, blank=True, help_text="the deciding clause, or why it was skipped")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "order"], name="one_item_per_run_and_order"),
            models.UniqueConstraint(fields=["incident", "order"], condition=models.Q(request__isnull=False),
                                    name="one_compensation_request_per_incident_and_order"),
        ]

"""Regions and incidents: what the public status page shows and what outage facts are made of."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name_en = models.CharField(max_length=100)
    name_zh = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.code

    def name(self, language: str) -> str:
        return self.name_zh if (language or "").lower().startswith("zh") else self.name_en


class Severity(models.TextChoices):
    DEGRADED = "degraded", _("Degraded")
    OUTAGE = "outage", _("Outage")


class Incident(models.Model):
    title_en = models.CharField(max_length=200)
    title_zh = models.CharField(max_length=200)
    regions = models.ManyToManyField(Region, related_name="incidents")
    severity = models.CharField(max_length=20, choices=Severity.choices, default=Severity.OUTAGE)
    cause = models.TextField(_("cause"), blank=True)
    force_majeure = models.BooleanField(_("force majeure"), default=False)
    force_majeure_note = models.TextField(blank=True)
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        return self.title_en

    @property
    def ongoing(self) -> bool:
        return self.ended_at is None

    def title(self, language: str) -> str:
        return self.title_zh if (language or "").lower().startswith("zh") else self.title_en


class IncidentUpdate(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    at = models.DateTimeField(default=timezone.now)
    message_en = models.TextField()
    message_zh = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def message(self, language: str) -> str:
        return self.message_zh if (language or "").lower().startswith("zh") else self.message_en

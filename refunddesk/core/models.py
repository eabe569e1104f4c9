from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Staff and customers alike sign in as a User; roles are Django groups.

    One email address is one account (case-insensitive, blank emails aside): signing in by email, the
    one-time link and a customer's account all resolve an address to exactly one user.
    """

    language = models.CharField(_("language"), max_length=10, default="zh-hans")

    @property
    def display_name(self) -> str:
        """How people see this user on every page, staff's and customers' alike: the full name, else the
        user name (never a bare `agent2` where a name is known)."""
        return self.get_full_name().strip() or self.username

    def __str__(self) -> str:
        return self.display_name

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=~models.Q(email=""), name="one_account_per_email"),
        ]


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A key the merchant's billing system (or monitoring) uses as `Authorization: Bearer <key>`.

    Only the SHA-256 of the key is stored; the key itself is shown once, when created.
    """

    PREFIX = "rdk_"

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, editable=False, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def generate(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    def set_key(self, raw: str) -> None:
        self.prefix = raw[:12]
        self.key_hash = hash_key(raw)


class AccessToken(models.Model):
    """A person's API token (customer or staff), sent as `Authorization: Bearer <token>`; stored hashed."""

    PREFIX = "rdt_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(_("name"), max_length=100, default="api")
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("access token")
        verbose_name_plural = _("access tokens")

    def __str__(self) -> str:
        return f"{self.user} {self.prefix}…"


class WorkerHeartbeat(models.Model):
    """Each running `refunddesk worker` says it is alive every few seconds; jobs of silent ones are re-queued."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=200)
    pid = models.IntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)


class HolidaySchedule(models.Model):
    """An official holiday schedule a supervisor recorded in the console for a year the `holidays`
    package does not have yet (the same YAML as a calendars/ file; see core/calendar.py). It decides
    its year, over a file and over the package."""

    country = models.CharField(_("country"), max_length=2)
    year = models.PositiveIntegerField(_("year"))
    document = models.TextField(_("schedule (YAML)"))
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("holiday schedule")
        verbose_name_plural = _("holiday schedules")
        constraints = [models.UniqueConstraint(fields=["country", "year"], name="one_schedule_per_country_year")]
        ordering = ["country", "year"]

    def __str__(self) -> str:
        return f"{self.country} {self.year}"

"""Published policy versions. A published version never changes; decisions point at it."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunddesk.core.i18n import is_zh


class ImmutableVersionError(RuntimeError):
    pass


class PolicyVersion(models.Model):
    policy_id = models.CharField(_("policy id"), max_length=100)
    version = models.CharField(_("version"), max_length=50)
    title_en = models.CharField(max_length=300)
    title_zh = models.CharField(max_length=300)
    document = models.TextField(_("document (YAML)"))
    cases = models.TextField(_("test cases (YAML)"))
    checksum = models.CharField(max_length=64, editable=False)
    effective_at = models.DateTimeField(_("effective from"), db_index=True)
    major_change = models.BooleanField(_("major change"), default=False)
    change_note = models.TextField(_("what changed"), blank=True)
    published_at = models.DateTimeField(default=timezone.now, editable=False)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    # what this version would have changed on the requests decided before it was published (refunds.replay's
    # summary: counts, money per currency, changed requests by clause pair), stored when it was published
    replay = models.JSONField(_("replay at publication"), default=dict, blank=True)

    class Meta:
        ordering = ["-effective_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["policy_id", "version"], name="policy_version_unique")]
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        permissions = [("publish_policy", "Can edit and publish policies (policy owner)")]

    def __str__(self) -> str:
        return f"{self.policy_id} v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ImmutableVersionError("a published policy version never changes; publish a new version")
        self.checksum = hashlib.sha256((self.document + "\0" + self.cases).encode()).hexdigest()
        super().save(*args, **kwargs)
        from refunddesk.policies.versions import changed

        changed()  # every process reads the published versions again

    def delete(self, *args, **kwargs):
        raise ImmutableVersionError("a published policy version is never deleted")

    def title(self, language: str) -> str:
        return self.title_zh if is_zh(language) else self.title_en


class PolicyDraft(models.Model):
    """The document a policy owner is editing in the browser, before it is published."""

    document = models.TextField()
    cases = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")


class ReplayRun(models.Model):
    """A what-if replay of a draft over past requests, run in the background (refunds.replay.replay_run_execute):
    its progress for the console's progress bar, then its summary or what stopped it."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    STATUSES = ((QUEUED, QUEUED), (RUNNING, RUNNING), (DONE, DONE), (FAILED, FAILED))

    document = models.TextField()
    checksum = models.CharField(max_length=64, db_index=True)  # sha256 of the document: a publish finds its run
    since = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    problem = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    @staticmethod
    def checksum_of(document: str) -> str:
        return hashlib.sha256(document.encode()).hexdigest()

    @property
    def percent(self) -> int:
        if self.status == self.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

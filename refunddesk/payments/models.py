"""Refund: the money going back. One per approved request, sent once, settled by the gateway."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunddesk.billing.models import Order
from refunddesk.core.money import Money


class RefundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # created, not yet sent
    SUBMITTED = "submitted", _("Submitted")  # sent (or being sent): only the gateway can say more
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    NEEDS_ATTENTION = "needs_attention", _("Needs attention")


FINAL = (RefundStatus.SUCCEEDED, RefundStatus.FAILED)
# statuses whose amount is reserved against the order (so the total can never exceed what was paid)
RESERVING = (RefundStatus.PENDING, RefundStatus.SUBMITTED, RefundStatus.SUCCEEDED, RefundStatus.NEEDS_ATTENTION)


class Origin(models.TextChoices):
    REFUNDDESK = "refunddesk", _("refunddesk")
    GATEWAY_DASHBOARD = "gateway_dashboard", _("Made in the gateway's dashboard")
    STORE = "store", _("Made by the app store")


REFUND_STATUS_LABELS = dict(RefundStatus.choices)  # value -> lazy label


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    request = models.OneToOneField("refunds.RefundRequest", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="refund")
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.REFUNDDESK)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    gateway = models.CharField(max_length=30)
    charge_ref = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=20, choices=RefundStatus.choices, default=RefundStatus.PENDING,
                              db_index=True)
    gateway_ref = models.CharField(max_length=200, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    failure_reason = models.TextField(blank=True)
    arrival_min_days = models.PositiveIntegerField(null=True, blank=True)
    arrival_max_days = models.PositiveIntegerField(null=True, blank=True)
    arrival_by = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)  # the ledger and reports read periods
    submitted_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # while a worker talks to the gateway about this refund, nobody else does (crash-safe: it expires)
    lease_until = models.DateTimeField(null=True, blank=True)
    marked_paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    # set when a refund that had succeeded failed at the gateway afterwards (the bank returned the money)
    reversed_at = models.DateTimeField(null=True, blank=True)
    # what the gateway says that refunddesk does not hold (no money was moved for it): finance looks at it
    disagreement = models.TextField(blank=True)
    disagreement_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="refund_amount_positive")]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return f"{self.idempotency_key} {self.amount} {self.status}"

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    def get_status_display(self) -> str:
        """The status's label in the active language, one translation (not one per choice, as Django's own)."""
        label = REFUND_STATUS_LABELS.get(self.status)
        return str(label) if label is not None else self.status

    @property
    def final(self) -> bool:
        return self.status in FINAL


class WebhookReceipt(models.Model):
    """Each verified gateway event id, stored once: a replay finds it here and changes nothing."""

    gateway = models.CharField(max_length=30)
    event_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=40)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="webhook_event_once")]


class SandboxRecord(models.Model):
    """State of the sandbox gateway, shared by the web and worker processes (it is a pretend gateway)."""

    key = models.CharField(max_length=64, unique=True)
    charge_ref = models.CharField(max_length=200, db_index=True)
    amount_minor = models.BigIntegerField()
    record = models.JSONField()


class SandboxCharge(models.Model):
    charge_ref = models.CharField(max_length=200, unique=True)
    refunded_minor = models.BigIntegerField(default=0)

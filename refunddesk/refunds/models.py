"""The refund case: one customer's application for one order, its evidence and its timeline."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunddesk.billing.models import Customer, Order
from refunddesk.core.i18n import is_zh
from refunddesk.core.money import Money
from refunddesk.core.vocabulary import REASONS, text_choices
from refunddesk.refunds.states import OPEN, Actor, Status

STATUS_LABELS = dict(Status.choices)  # value -> lazy label

# The values come from the facts contract's vocabulary (core.vocabulary.REASONS); the labels are the
# customer's words on the application form.
Reason = text_choices("Reason", REASONS, {
    "technical_issue": _("Technical problem"), "service_outage": _("Service outage"),
    "not_satisfied": _("Not satisfied"), "duplicate_charge": _("Charged twice"),
    "wrong_charge": _("Wrong amount charged"), "changed_mind": _("Changed my mind"),
    "emergency": _("Emergency or major change in my life"), "other": _("Other"),
})


def _public_id() -> str:
    """A request number customers can read out: 48 random bits, so numbers practically never repeat."""
    return "RR-" + secrets.token_hex(6).upper()


class RefundRequest(models.Model):
    public_id = models.CharField(_("request number"), max_length=20, unique=True, default=_public_id, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="refund_requests")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refund_requests")
    reason = models.CharField(_("reason"), max_length=30, choices=Reason.choices)
    description = models.TextField(_("description"), blank=True)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    status = models.CharField(_("status"), max_length=30, choices=Status.choices, default=Status.SUBMITTED,
                              db_index=True)
    currency = models.CharField(max_length=3)
    # the decision made by the policy at submission, stored whole
    policy_version = models.ForeignKey("policies.PolicyVersion", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    policy_outcome = models.CharField(_("policy outcome"), max_length=20, blank=True)
    policy_clause = models.CharField(_("policy clause"), max_length=100, blank=True)
    policy_amount_minor = models.BigIntegerField(null=True, blank=True)
    policy_explanation = models.JSONField(default=dict, blank=True)
    policy_trace = models.JSONField(default=list, blank=True)
    facts = models.JSONField(default=dict, blank=True)
    # what people decided
    offered_amount_minor = models.BigIntegerField(null=True, blank=True)
    approved_amount_minor = models.BigIntegerField(null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True)
    decision_clause = models.CharField(_("clause cited"), max_length=100, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    first_reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", help_text="who made the decision an appeal is against")
    override = models.BooleanField(_("override of the policy"), default=False)
    override_reason = models.TextField(blank=True)
    appeal_reason = models.TextField(_("appeal"), blank=True)
    redirect_instructions = models.JSONField(default=dict, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_requests")
    # clocks
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)  # reports and replay read periods
    review_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    refund_due_at = models.DateTimeField(null=True, blank=True)
    # a rejection may be appealed until then; afterwards it no longer holds its order (states.holds_order)
    appeal_due_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # waiting for the customer's answer (states.NO_ANSWER_WAITS): the policy's no_answer says when they are
    # reminded (answer_remind_at; answer_reminded_at once done) and when the request goes on without the answer
    answer_remind_at = models.DateTimeField(null=True, blank=True)
    answer_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    answer_reminded_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("refund request")
        verbose_name_plural = _("refund requests")
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=models.Q(status__in=sorted(OPEN)),
                                    name="one_open_request_per_order"),
        ]
        permissions = [
            ("review_request", "Can review refund requests (agent)"),
            ("decide_appeal", "Can decide appeals (supervisor)"),
            ("manage_refunds", "Can handle refunds that need attention (finance)"),
        ]

    # What the policy decided at submission, with the facts it decided on: written once, never again
    # (and kilobytes of JSON that a save after each move would otherwise write back unchanged).
    SUBMISSION_RECORD = frozenset({"facts", "policy_version", "policy_outcome", "policy_clause",
                                   "policy_amount_minor", "policy_explanation", "policy_trace"})

    def __str__(self) -> str:
        return self.public_id

    def save(self, *args, **kwargs):
        if not self._state.adding and not kwargs.get("force_insert") and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = self.saved_fields()
        super().save(*args, **kwargs)

    @classmethod
    def saved_fields(cls) -> list[str]:
        """The fields an update writes: all but the id and the submission's record (written once)."""
        return [f.name for f in cls._meta.concrete_fields if not f.primary_key and f.name not in cls.SUBMISSION_RECORD]

    def get_status_display(self) -> str:
        """The status's label in the active language. One translation: Django's own get_FIELD_display hashes
        every choice's lazy label (a translation each) on every call, a millisecond per row of a list."""
        label = STATUS_LABELS.get(self.status)
        return str(label) if label is not None else self.status

    def money(self, minor: int | None) -> Money | None:
        return None if minor is None else Money(minor, self.currency)

    @property
    def policy_amount(self) -> Money | None:
        return self.money(self.policy_amount_minor)

    @property
    def offered_amount(self) -> Money | None:
        return self.money(self.offered_amount_minor)

    @property
    def approved_amount(self) -> Money | None:
        return self.money(self.approved_amount_minor)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def explanation(self, language: str) -> str:
        key = "zh" if is_zh(language) else "en"
        return self.policy_explanation.get(key, "")


def evidence_path(instance: Evidence, filename: str) -> str:
    # never the customer's file name: a generated one, with the extension of the detected type
    return f"evidence/{timezone.now():%Y/%m}/{secrets.token_hex(16)}{instance.extension}"


class Evidence(models.Model):
    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to=evidence_path)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class AppendOnlyError(RuntimeError):
    pass


class TimelineEvent(models.Model):
    """Append-only: who, when, from, to, why, and the clause cited."""

    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    actor_kind = models.CharField(max_length=20, choices=Actor.choices)
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    note = models.TextField(blank=True)
    clause = models.CharField(max_length=100, blank=True)
    amount_minor = models.BigIntegerField(null=True, blank=True)
    override = models.BooleanField(default=False)
    visible_to_customer = models.BooleanField(default=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("timeline events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("timeline events are append-only")


class Mediation(models.Model):
    """A third-party mediation of a dispute, recorded with its outcome."""

    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="mediations")
    mediator = models.CharField(_("mediator"), max_length=200)
    outcome = models.TextField(_("outcome"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

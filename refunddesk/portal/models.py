"""Portal sessions: a short-lived, single-use address the merchant's product opens for one customer.

Like Stripe's billing-portal sessions: the merchant's server asks for one with its API key
(`POST /api/v1/portal-sessions`), sends the customer's browser to its `url`, and refunddesk signs that
customer in and lands them on the order (or "my orders"), with a way back to `return_url`. Only the
SHA-256 of the token is stored; the token itself is in the URL, shown once.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PortalSession(models.Model):
    PREFIX = "rdps_"

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    customer = models.ForeignKey("billing.Customer", on_delete=models.CASCADE, related_name="portal_sessions")
    order = models.ForeignKey("billing.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    return_url = models.URLField(_("return address"), max_length=2000)
    locale = models.CharField(_("language"), max_length=10)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    api_key = models.ForeignKey("core.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("portal session")
        verbose_name_plural = _("portal sessions")

    def __str__(self) -> str:
        return f"portal session {self.pk} for {self.customer_id}"

"""Reads about payments that other apps' pages and APIs need."""

from __future__ import annotations

from refunddesk.payments.gateways.errors import GatewayConfigError
from refunddesk.payments.gateways.registry import STORE_CHANNELS
from refunddesk.payments.registry import gateway_for


def gateway_problem(gateway_id: str) -> str | None:
    """Why refunds through `gateway_id` (an Order.gateway) cannot be sent by this installation, or None.

    None for a gateway built from settings.REFUNDDESK_GATEWAYS (sandbox and manual always are) and for the
    app stores (their refunds are made by the store, not sent by refunddesk). Otherwise the registry's
    reason, in English, for the merchant's integrators and staff: "no payment gateway 'stripe' is
    configured (configured: manual, sandbox)", or what is wrong with its settings.
    """
    if gateway_id in STORE_CHANNELS:
        return None
    try:
        gateway_for(gateway_id)
    except GatewayConfigError as exc:
        return str(exc.message)
    return None


def refund_held_reason(*, request) -> str | None:
    """Why the refund of an approved refund request (refunds.RefundRequest) waits for finance instead of
    going out, or None when it is on its way, settled, or there is none: the refund's last error while it
    needs attention (a gateway not configured here, retries exhausted, credentials refused), in English."""
    from refunddesk.payments.models import Refund, RefundStatus

    if request is None or not getattr(request, "pk", None):
        return None
    refund = Refund.objects.filter(request_id=request.pk).only("status", "last_error").first()
    if refund is None or refund.status != RefundStatus.NEEDS_ATTENTION:
        return None
    return refund.last_error or "the refund needs attention"

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


def order_gateway_warnings(sender, *, order, **kwargs) -> list[str]:
    """Receiver of billing.selectors.order_checks: the order is stored, but refunds of it cannot be sent from
    here (its gateway is not configured): say so when the merchant pushes it, not at the first approval."""
    problem = gateway_problem(order.gateway)
    if problem is None:
        return []
    return [f"gateway: {problem}. The order is stored, but refunds of it cannot be sent until the gateway is "
            "configured (REFUNDDESK_GATEWAYS_JSON, or STRIPE_API_KEY for Stripe); approved refunds wait for "
            "finance."]


def refund_held_reason(*, request) -> str | None:
    """Why the money of an approved refund request (refunds.RefundRequest) is not on its way, or None when it
    is (or is settled, or there is no refund): the refund's last error while it needs attention (retries
    exhausted, credentials refused, no gateway at the worker), or, while it is not final, that its gateway is
    not configured here (gateway_problem). In English, for staff."""
    from refunddesk.payments.models import FINAL, Refund, RefundStatus

    if request is None or not getattr(request, "pk", None):
        return None
    refund = Refund.objects.filter(request_id=request.pk).only("status", "last_error", "gateway").first()
    if refund is None:
        return None
    if refund.status == RefundStatus.NEEDS_ATTENTION:
        return refund.last_error or "the refund needs attention"
    if refund.status in FINAL:
        return None
    return gateway_problem(refund.gateway)

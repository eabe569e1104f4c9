from __future__ import annotations

from django.dispatch import Signal

from refunddesk.billing.models import Order
from refunddesk.core.errors import NotFound


def order_get(*, external_id: str) -> Order:
    order = Order.objects.select_related("customer", "plan").filter(external_id=external_id).first()
    if order is None:
        raise NotFound(f"no order with number '{external_id}'.", field="order_id")
    return order


#: Asked when an order is stored or read through the import API: receivers (payments: can its refunds be
#: sent here?) answer a list of warnings, in English, for the merchant's integrators. Billing imports none of
#: them (imports point down).
order_checks = Signal()


def order_warnings(*, order: Order) -> list[str]:
    """What the merchant should know about a stored order: each `order_checks` receiver's warnings."""
    return [text for _receiver, texts in order_checks.send(sender=Order, order=order) for text in texts or ()]

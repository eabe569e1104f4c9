from __future__ import annotations

from refunddesk.billing.models import Order
from refunddesk.core.errors import NotFound


def order_get(*, external_id: str) -> Order:
    order = Order.objects.select_related("customer", "plan").filter(external_id=external_id).first()
    if order is None:
        raise NotFound(f"no order with number '{external_id}'.", field="order_id")
    return order

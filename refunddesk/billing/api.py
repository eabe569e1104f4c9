"""Billing import API: the merchant's billing system pushes what it sold.

Every route is an idempotent PUT keyed on the merchant's own id: 201 when it created
the row, 200 when it updated (or found nothing to change).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from refunddesk.billing import services
from refunddesk.billing.models import Customer, Order, Plan
from refunddesk.core.auth import api_key_auth
from refunddesk.core.money import Money

router = Router(auth=api_key_auth, tags=["billing import"])


class CustomerIn(Schema):
    email: str
    name: str = ""
    region: str
    language: str = "zh-hans"
    tos_violation: bool = False
    # optional: sets or resets the customer's sign-in password (stored hashed, never returned)
    password: str | None = Field(None, max_length=4096)


class CustomerOut(Schema):
    external_id: str
    email: str
    name: str
    region: str
    language: str
    tos_violation: bool


class PriceIn(Schema):
    price: Decimal
    currency: str


class PlanIn(Schema):
    name: str
    period_days: int
    refund_window_days: int
    trial_hours: int = 0
    refundable: bool = True
    price: Decimal | None = None
    currency: str | None = None
    # list prices in other currencies; with price/currency, the plan's prices from price_effective_from
    prices: list[PriceIn] = []
    price_effective_from: dt.datetime | None = None


class PriceOut(Schema):
    currency: str
    price: str | None
    effective_from: dt.datetime


class PlanOut(Schema):
    external_id: str
    name: str
    period_days: int
    refund_window_days: int
    trial_hours: int
    refundable: bool
    price: str | None
    currency: str
    price_history: list[PriceOut]


class OrderIn(Schema):
    customer_id: str
    plan_id: str
    amount: Decimal
    currency: str
    purchased_at: dt.datetime
    sales_channel: str
    payment_method: str
    gateway: str = "sandbox"
    gateway_charge_ref: str = ""
    promotional: bool = False
    refundable: bool = True
    channel_fee: Decimal = Decimal("0")
    price_due: Decimal | None = None


class OrderOut(Schema):
    external_id: str
    customer_id: str
    plan_id: str
    amount: str
    currency: str
    refunded: str
    purchased_at: dt.datetime
    sales_channel: str
    payment_method: str
    gateway: str
    promotional: bool
    refundable: bool
    channel_fee: str
    price_due: str | None
    # what the merchant should know about this order, e.g. that its gateway is not configured here
    warnings: list[str] = []


class UsageIn(Schema):
    days_used: Decimal
    paid_features_used: bool = False
    quota_used_ratio: Decimal = Decimal("0")
    reported_at: dt.datetime | None = None


class UsageOut(Schema):
    order_id: str
    days_used: str
    paid_features_used: bool
    quota_used_ratio: str


class SupportContactIn(Schema):
    customer_id: str
    order_id: str | None = None
    topic: str
    opened_at: dt.datetime
    resolved: bool = False
    resolved_at: dt.datetime | None = None


class SupportContactOut(Schema):
    external_id: str
    customer_id: str
    order_id: str | None
    topic: str
    resolved: bool


def _customer_out(c: Customer) -> dict:
    return {"external_id": c.external_id, "email": c.email, "name": c.name, "region": c.region,
            "language": c.language, "tos_violation": c.tos_violation}


def _order_out(o: Order) -> dict:
    return {
        "external_id": o.external_id, "customer_id": o.customer.external_id, "plan_id": o.plan.external_id,
        "amount": str(o.amount.amount), "currency": o.currency, "refunded": str(o.refunded.amount),
        "purchased_at": o.purchased_at, "sales_channel": o.sales_channel, "payment_method": o.payment_method,
        "gateway": o.gateway, "promotional": o.promotional, "refundable": o.refundable,
        "channel_fee": str(o.channel_fee.amount),
        "price_due": str(o.price_due.amount) if o.price_due is not None else None,
    }


def _plan_out(p: Plan) -> dict:
    history = [{"currency": e.currency, "effective_from": e.effective_from,
                "price": str(Money(e.price_minor, e.currency).amount) if e.price_minor is not None else None}
               for e in p.prices.order_by("effective_from", "currency")]
    return {"external_id": p.external_id, "name": p.name, "period_days": p.period_days,
            "refund_window_days": p.refund_window_days, "trial_hours": p.trial_hours, "refundable": p.refundable,
            "price": str(p.price.amount) if p.price is not None else None, "currency": p.currency,
            "price_history": history}


@router.put("/customers/{external_id}", response={200: CustomerOut, 201: CustomerOut})
def put_customer(request: HttpRequest, external_id: str, payload: CustomerIn):
    customer, created = services.customer_upsert(external_id=external_id, **payload.dict())
    return Status(201 if created else 200, _customer_out(customer))


@router.put("/plans/{external_id}", response={200: PlanOut, 201: PlanOut})
def put_plan(request: HttpRequest, external_id: str, payload: PlanIn):
    """The plan and its list prices (`price`/`currency`, other currencies in `prices`), in force from
    `price_effective_from` (default now); each change is kept in the plan's price history."""
    plan, created = services.plan_upsert(external_id=external_id, **payload.dict())
    return Status(201 if created else 200, _plan_out(plan))


@router.put("/orders/{external_id}", response={200: OrderOut, 201: OrderOut})
def put_order(request: HttpRequest, external_id: str, payload: OrderIn):
    """The order; `price_due` (optional) is what was due for it when bought. Once a refund exists for the
    order or is pending on it, amount, currency, gateway and gateway_charge_ref cannot change, nor, once a
    request was made on it, the customer: 409 naming the field."""
    order, created = services.order_upsert(data=services.OrderInput(external_id=external_id, **payload.dict()))
    return Status(201 if created else 200, {**_order_out(order), "warnings": _order_warnings(order)})


def _order_warnings(order: Order) -> list[str]:
    """Stored, but refunds of it could not be sent: say so now rather than at the first approval."""
    from refunddesk.payments.selectors import gateway_problem

    problem = gateway_problem(order.gateway)
    if problem is None:
        return []
    return [f"gateway: {problem}. The order is stored, but refunds of it cannot be sent until the gateway is "
            "configured (REFUNDDESK_GATEWAYS_JSON, or STRIPE_API_KEY for Stripe); approved refunds wait for "
            "finance."]


@router.get("/orders/{external_id}", response=OrderOut)
def get_order(request: HttpRequest, external_id: str):
    from refunddesk.billing.selectors import order_get

    order = order_get(external_id=external_id)
    return {**_order_out(order), "warnings": _order_warnings(order)}


@router.put("/orders/{external_id}/usage", response=UsageOut)
def put_usage(request: HttpRequest, external_id: str, payload: UsageIn):
    record = services.usage_report(order_external_id=external_id, **payload.dict())
    return {"order_id": external_id, "days_used": str(record.days_used),
            "paid_features_used": record.paid_features_used, "quota_used_ratio": str(record.quota_used_ratio)}


@router.put("/support-contacts/{external_id}", response={200: SupportContactOut, 201: SupportContactOut})
def put_support_contact(request: HttpRequest, external_id: str, payload: SupportContactIn):
    contact, created = services.support_contact_upsert(external_id=external_id, **payload.dict())
    return Status(201 if created else 200, {
        "external_id": contact.external_id, "customer_id": contact.customer.external_id,
        "order_id": contact.order.external_id if contact.order else None, "topic": contact.topic,
        "resolved": contact.resolved,
    })


"""Billing import API: the merchant's billing system pushes what it sold.

Every route is an idempotent PUT keyed on the merchant's own id: 201 when it created
the row, 200 when it updated (or found nothing to change).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema
from ninja.responses import Status

from refunddesk.billing import services
from refunddesk.billing.models import Customer, Order, Plan
from refunddesk.core.api_errors import errors
from refunddesk.core.api_fields import Amount, Timestamp, text
from refunddesk.core.auth import api_key_auth
from refunddesk.core.money import Money

router = Router(auth=api_key_auth, tags=["billing import"])

MAX_DAYS = 36600  # a hundred years: any real plan period or refund window, and within a 32-bit column
MAX_HOURS = 87840  # ten years of trial hours
MAX_PRICES = 200  # currencies one plan may be priced in


def _merchant_id(description: str):
    """A path parameter holding one of the merchant's own ids (at most 100 characters, as the columns)."""
    return Path(..., min_length=1, max_length=100, description=description)


class CustomerIn(Schema):
    email: str = text(254)
    name: str = text(200, "")
    region: str = text(32)
    language: str = text(10, "zh-hans")
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
    price: Amount
    currency: str = text(3)


class PlanIn(Schema):
    name: str = text(200)
    period_days: int = Field(..., ge=1, le=MAX_DAYS)
    refund_window_days: int = Field(..., ge=1, le=MAX_DAYS)
    trial_hours: int = Field(0, ge=0, le=MAX_HOURS)
    refundable: bool = True
    price: Amount | None = None
    currency: str | None = text(3, None)
    # list prices in other currencies; with price/currency, the plan's prices from price_effective_from
    prices: list[PriceIn] = Field([], max_length=MAX_PRICES)
    price_effective_from: Timestamp | None = None


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
    customer_id: str = text(100)
    plan_id: str = text(100)
    amount: Amount
    currency: str = text(3)
    purchased_at: Timestamp
    sales_channel: str = text(20)
    payment_method: str = text(20)
    gateway: str = text(30, "sandbox")
    gateway_charge_ref: str = text(200, "")
    promotional: bool = False
    refundable: bool = True
    channel_fee: Amount = Decimal("0")
    price_due: Amount | None = None


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
    days_used: Decimal = Field(..., lt=10**6, description="days of the period used, at most 2 decimals")
    paid_features_used: bool = False
    quota_used_ratio: Decimal = Field(Decimal("0"), lt=10**6, description="0..1, at most 4 decimals")
    reported_at: Timestamp | None = None


class UsageOut(Schema):
    order_id: str
    days_used: str
    paid_features_used: bool
    quota_used_ratio: str


class SupportContactIn(Schema):
    customer_id: str = text(100)
    order_id: str | None = text(100, None)
    topic: str = text(200)
    opened_at: Timestamp
    resolved: bool = False
    resolved_at: Timestamp | None = None


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


@router.put("/customers/{customer_id}", response={200: CustomerOut, 201: CustomerOut, **errors(409)})
def put_customer(request: HttpRequest, payload: CustomerIn, customer_id: str = _merchant_id("your customer id")):
    customer, created = services.customer_upsert(external_id=customer_id, **payload.dict())
    return Status(201 if created else 200, _customer_out(customer))


@router.put("/plans/{plan_id}", response={200: PlanOut, 201: PlanOut, **errors(409)})
def put_plan(request: HttpRequest, payload: PlanIn, plan_id: str = _merchant_id("your plan id")):
    """The plan and its list prices (`price`/`currency`, other currencies in `prices`), in force from
    `price_effective_from` (default now); each change is kept in the plan's price history."""
    plan, created = services.plan_upsert(external_id=plan_id, **payload.dict())
    return Status(201 if created else 200, _plan_out(plan))


@router.put("/orders/{order_id}", response={200: OrderOut, 201: OrderOut, **errors(409)})
def put_order(request: HttpRequest, payload: OrderIn, order_id: str = _merchant_id("your order number")):
    """The order; `price_due` (optional) is what was due for it when bought. Once a refund exists for the
    order or is pending on it, amount, currency, gateway and gateway_charge_ref cannot change, nor, once a
    request was made on it, the customer: 409 naming the field."""
    order, created = services.order_upsert(data=services.OrderInput(external_id=order_id, **payload.dict()))
    return Status(201 if created else 200, {**_order_out(order), "warnings": _order_warnings(order)})


def _order_warnings(order: Order) -> list[str]:
    """Stored, but refunds of it could not be sent: say so now rather than at the first approval."""
    from refunddesk.billing.selectors import order_warnings

    return order_warnings(order=order)


@router.get("/orders/{order_id}", response={200: OrderOut, **errors(404)})
def get_order(request: HttpRequest, order_id: str = _merchant_id("your order number")):
    from refunddesk.billing.selectors import order_get

    order = order_get(external_id=order_id)
    return {**_order_out(order), "warnings": _order_warnings(order)}


@router.put("/orders/{order_id}/usage", response=UsageOut)
def put_usage(request: HttpRequest, payload: UsageIn, order_id: str = _merchant_id("your order number")):
    record = services.usage_report(order_external_id=order_id, **payload.dict())
    return {"order_id": order_id, "days_used": str(record.days_used),
            "paid_features_used": record.paid_features_used, "quota_used_ratio": str(record.quota_used_ratio)}


@router.put("/support-contacts/{contact_id}", response={200: SupportContactOut, 201: SupportContactOut})
def put_support_contact(request: HttpRequest, payload: SupportContactIn,
                        contact_id: str = _merchant_id("your support ticket id")):
    contact, created = services.support_contact_upsert(external_id=contact_id, **payload.dict())
    return Status(201 if created else 200, {
        "external_id": contact.external_id, "customer_id": contact.customer.external_id,
        "order_id": contact.order.external_id if contact.order else None, "topic": contact.topic,
        "resolved": contact.resolved,
    })


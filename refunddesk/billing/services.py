"""Writes for billing data. Every function validates everything first, then writes in
one transaction, so bad input leaves nothing half-written. Upserts are keyed on the
merchant's own ids, so sending the same payload twice changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from refunddesk.billing.models import (
    Customer,
    Language,
    Order,
    PaymentMethod,
    Plan,
    SalesChannel,
    SupportContact,
    UsageRecord,
)
from refunddesk.core.errors import ValidationError
from refunddesk.core.money import Money, to_decimal, validate_currency

KNOWN_GATEWAYS = ("sandbox", "manual", "stripe", "alipay", "wechat_pay", "app_store", "google_play")


def _require(value: object, field: str) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError("is required.", field=field)


def _choice(value: str, choices: type, field: str) -> str:
    allowed = [c.value for c in choices]
    if value not in allowed:
        raise ValidationError(f"'{value}' is not one of {', '.join(allowed)}.", field=field)
    return value


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if timezone.is_naive(value):
        raise ValidationError("needs a time zone offset, e.g. 2026-03-01T10:00:00+08:00.", field=field)
    return value


def _not_future(value: dt.datetime, field: str) -> dt.datetime:
    _aware(value, field)
    if value > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError(f"{value.isoformat()} is in the future.", field=field)
    return value


def _save_if_changed(obj, values: dict) -> tuple[object, bool]:
    changed = [k for k, v in values.items() if getattr(obj, k) != v]
    for key in changed:
        setattr(obj, key, values[key])
    if changed:
        obj.save(update_fields=[*changed, *(["updated_at"] if hasattr(obj, "updated_at") else [])])
    return obj, bool(changed)


# --- customers -------------------------------------------------------------


@transaction.atomic
def customer_upsert(
    *, external_id: str, email: str, name: str = "", region: str, language: str = Language.ZH_HANS,
    tos_violation: bool = False,
) -> tuple[Customer, bool]:
    """Create or update a customer. Returns (customer, created)."""
    _require(external_id, "external_id")
    _require(email, "email")
    _require(region, "region")
    if "@" not in email:
        raise ValidationError(f"'{email}' is not an email address.", field="email")
    _choice(language, Language, "language")
    values = {"email": email, "name": name, "region": region, "language": language, "tos_violation": tos_violation}
    customer = Customer.objects.select_for_update().filter(external_id=external_id).first()
    if customer is None:
        return Customer.objects.create(external_id=external_id, **values), True
    customer, _ = _save_if_changed(customer, values)
    return customer, False


# --- plans -----------------------------------------------------------------


@transaction.atomic
def plan_upsert(
    *, external_id: str, name: str, period_days: int, refund_window_days: int, trial_hours: int = 0,
    refundable: bool = True, price: object | None = None, currency: str | None = None,
) -> tuple[Plan, bool]:
    _require(external_id, "external_id")
    _require(name, "name")
    for field, value in (("period_days", period_days), ("refund_window_days", refund_window_days)):
        if value is None or int(value) < 1:
            raise ValidationError("must be a whole number of days, 1 or more.", field=field)
    if trial_hours is None or int(trial_hours) < 0:
        raise ValidationError("must be 0 or more hours.", field="trial_hours")
    price_minor = None
    if price is not None:
        if not currency:
            raise ValidationError("is required when a price is given.", field="currency")
        price_minor = Money.from_decimal(price, currency, field="price").minor
    values = {
        "name": name, "period_days": int(period_days), "refund_window_days": int(refund_window_days),
        "trial_hours": int(trial_hours), "refundable": refundable, "price_minor": price_minor,
        "currency": currency or "",
    }
    plan = Plan.objects.select_for_update().filter(external_id=external_id).first()
    if plan is None:
        return Plan.objects.create(external_id=external_id, **values), True
    plan, _ = _save_if_changed(plan, values)
    return plan, False


# --- orders ----------------------------------------------------------------


@dataclass(frozen=True)
class OrderInput:
    external_id: str
    customer_id: str
    plan_id: str
    amount: object
    currency: str
    purchased_at: dt.datetime
    sales_channel: str
    payment_method: str
    gateway: str = "sandbox"
    gateway_charge_ref: str = ""
    promotional: bool = False
    refundable: bool = True
    channel_fee: object = "0"


def _order_values(data: OrderInput) -> dict:
    _require(data.external_id, "external_id")
    _require(data.customer_id, "customer_id")
    _require(data.plan_id, "plan_id")
    validate_currency(data.currency)
    amount = Money.from_decimal(data.amount, data.currency, field="amount")
    fee = Money.from_decimal(data.channel_fee if data.channel_fee not in (None, "") else "0", data.currency,
                             field="channel_fee")
    if fee > amount:
        raise ValidationError(f"{fee.amount} is more than the amount paid ({amount.amount}).", field="channel_fee")
    _not_future(data.purchased_at, "purchased_at")
    _choice(data.sales_channel, SalesChannel, "sales_channel")
    _choice(data.payment_method, PaymentMethod, "payment_method")
    if data.gateway not in KNOWN_GATEWAYS:
        raise ValidationError(f"'{data.gateway}' is not one of {', '.join(KNOWN_GATEWAYS)}.", field="gateway")
    customer = Customer.objects.filter(external_id=data.customer_id).first()
    if customer is None:
        raise ValidationError(f"no customer with id '{data.customer_id}'; create the customer first.",
                              field="customer_id")
    plan = Plan.objects.filter(external_id=data.plan_id).first()
    if plan is None:
        raise ValidationError(f"no plan with id '{data.plan_id}'; create the plan first.", field="plan_id")
    return {
        "customer": customer, "plan": plan, "amount_minor": amount.minor, "currency": data.currency,
        "purchased_at": data.purchased_at, "sales_channel": data.sales_channel,
        "payment_method": data.payment_method, "gateway": data.gateway,
        "gateway_charge_ref": data.gateway_charge_ref or "", "promotional": bool(data.promotional),
        "refundable": bool(data.refundable), "channel_fee_minor": fee.minor,
    }


@transaction.atomic
def order_upsert(*, data: OrderInput) -> tuple[Order, bool]:
    values = _order_values(data)
    order = Order.objects.select_for_update().filter(external_id=data.external_id).first()
    if order is None:
        return Order.objects.create(external_id=data.external_id, **values), True
    if order.refunded_minor and (values["amount_minor"] != order.amount_minor or values["currency"] != order.currency):
        raise ValidationError("cannot change the amount or currency of an order that has refunds.", field="amount")
    if values["amount_minor"] < order.refunded_minor:
        raise ValidationError("is less than what was already refunded on this order.", field="amount")
    order, _ = _save_if_changed(order, values)
    return order, False


# --- usage -----------------------------------------------------------------


@transaction.atomic
def usage_report(
    *, order_external_id: str, days_used: object, paid_features_used: bool, quota_used_ratio: object,
    reported_at: dt.datetime | None = None,
) -> UsageRecord:
    order = Order.objects.filter(external_id=order_external_id).first()
    if order is None:
        raise ValidationError(f"no order with id '{order_external_id}'.", field="order_id")
    days = to_decimal(days_used, field="days_used")
    if days < 0 or days.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationError("must be 0 or more, with at most 2 decimals.", field="days_used")
    ratio = to_decimal(quota_used_ratio, field="quota_used_ratio")
    if not (Decimal(0) <= ratio <= Decimal(1)) or ratio.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValidationError("must be between 0 and 1, with at most 4 decimals.", field="quota_used_ratio")
    when = _not_future(reported_at, "reported_at") if reported_at else timezone.now()
    record = UsageRecord.objects.select_for_update().filter(order=order).first()
    values = {"days_used": days, "paid_features_used": bool(paid_features_used), "quota_used_ratio": ratio}
    if record is None:
        return UsageRecord.objects.create(order=order, reported_at=when, **values)
    _, changed = _save_if_changed(record, values)
    if changed and reported_at:
        UsageRecord.objects.filter(pk=record.pk).update(reported_at=when)
    return record


# --- support ---------------------------------------------------------------


@transaction.atomic
def support_contact_upsert(
    *, external_id: str, customer_id: str, topic: str, opened_at: dt.datetime, resolved: bool,
    order_id: str | None = None, resolved_at: dt.datetime | None = None,
) -> tuple[SupportContact, bool]:
    _require(external_id, "external_id")
    _require(topic, "topic")
    _not_future(opened_at, "opened_at")
    customer = Customer.objects.filter(external_id=customer_id).first()
    if customer is None:
        raise ValidationError(f"no customer with id '{customer_id}'.", field="customer_id")
    order = None
    if order_id:
        order = Order.objects.filter(external_id=order_id, customer=customer).first()
        if order is None:
            raise ValidationError(f"no order '{order_id}' for this customer.", field="order_id")
    if resolved_at is not None:
        _not_future(resolved_at, "resolved_at")
    values = {"customer": customer, "order": order, "topic": topic, "opened_at": opened_at,
              "resolved": bool(resolved), "resolved_at": resolved_at if resolved else None}
    contact = SupportContact.objects.select_for_update().filter(external_id=external_id).first()
    if contact is None:
        return SupportContact.objects.create(external_id=external_id, **values), True
    contact, _ = _save_if_changed(contact, values)
    return contact, False

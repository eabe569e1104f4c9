"""Assemble the policy facts (DESIGN.md, contract v1) for an order from the database.

The result is JSON-shaped: timestamps are RFC 3339 strings, money is a decimal string in
major units. It is stored with every decision, so a decision can be replayed exactly.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from refunddesk.billing.models import Order, SupportContact, UsageRecord
from refunddesk.status.selectors import outage_fact_for_region

# Two charges for the same plan and amount this close together are a duplicate charge.
DUPLICATE_WINDOW = dt.timedelta(hours=24)
GRANTED = ("approved", "accepted", "refunding", "refunded")


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _dec(minor: int, currency_exponent: int) -> str:
    return str(Decimal(minor).scaleb(-currency_exponent).quantize(Decimal(1).scaleb(-currency_exponent)))


def facts_for_order(*, order: Order, reason: str, now: dt.datetime, submitted_at: dt.datetime | None = None) -> dict:
    from refunddesk.core.money import exponent
    from refunddesk.refunds.models import RefundRequest

    customer, plan = order.customer, order.plan
    exp = exponent(order.currency)
    earlier_orders = Order.objects.filter(customer=customer, purchased_at__lt=order.purchased_at)
    duplicate = earlier_orders.filter(
        plan=plan, amount_minor=order.amount_minor, currency=order.currency,
        purchased_at__gte=order.purchased_at - DUPLICATE_WINDOW,
    ).exists()
    price = plan.price
    erroneous = bool(
        price is not None and price.currency == order.currency and not order.promotional
        and price.minor != order.amount_minor and not duplicate
    )
    usage = UsageRecord.objects.filter(order=order).first()
    contacts = list(
        SupportContact.objects.filter(customer=customer, opened_at__gte=order.purchased_at)
        .filter(order__isnull=True) | SupportContact.objects.filter(order=order)
    )
    refunds_last_year = RefundRequest.objects.filter(
        customer=customer, status__in=GRANTED, decided_at__gte=now - dt.timedelta(days=365)
    ).count()
    outage = outage_fact_for_region(region=customer.region, since=order.purchased_at, now=now)
    return {
        "now": _ts(now),
        "request": {"reason": reason, "submitted_at": _ts(submitted_at or now)},
        "customer": {
            "region": customer.region,
            "new": not earlier_orders.exists(),
            "tos_violation": customer.tos_violation,
            "refunds_last_year": refunds_last_year,
        },
        "order": {
            "id": order.external_id,
            "currency": order.currency,
            "amount": _dec(order.amount_minor, exp),
            "refunded": _dec(order.refunded_minor, exp),
            "purchased_at": _ts(order.purchased_at),
            "sales_channel": order.sales_channel,
            "payment_method": order.payment_method,
            "promotional": order.promotional,
            "refundable": order.refundable and plan.refundable,
            "channel_fee": _dec(order.channel_fee_minor, exp),
        },
        "plan": {
            "id": plan.external_id,
            "period_days": plan.period_days,
            "refund_window_days": plan.refund_window_days,
            "trial_hours": plan.trial_hours,
        },
        "usage": {
            "days_used": str(usage.days_used if usage else Decimal("0")),
            "paid_features_used": bool(usage and usage.paid_features_used),
            "quota_used_ratio": float(usage.quota_used_ratio) if usage else 0.0,
        },
        "support": {
            "contacted": bool(contacts),
            "resolved": bool(contacts) and all(c.resolved for c in contacts),
        },
        "outage": {"longest_hours": outage.longest_hours, "force_majeure": outage.force_majeure},
        "charge": {"duplicate": duplicate, "erroneous": erroneous},
    }

"""Assemble the policy facts (DESIGN.md, contract v1) for orders from the database.

The result is JSON-shaped: timestamps are RFC 3339 strings, money is a decimal string in
major units. It is stored with every decision, so a decision can be replayed exactly.

One definition, for one order or many: `facts_for_orders` reads what it needs for all the
orders it is given in seven queries (the submission of one request, the portal's previews of
a customer's orders, and outage compensation's batches of a thousand all use it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, fields
from decimal import Decimal

from django.db.models import Count, Q

from refunddesk.billing.models import Customer, Order, Plan, SupportContact, UsageRecord
from refunddesk.core.money import Money, exponent
from refunddesk.status.outages import longest_continuous_outage
from refunddesk.status.selectors import outage_intervals

# Two charges for the same plan and amount this close together are a duplicate charge.
DUPLICATE_WINDOW = dt.timedelta(hours=24)
GRANTED = ("approved", "accepted", "refunding", "refunded")


def _ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _dec(minor: int, currency_exponent: int) -> str:
    return str(Decimal(minor).scaleb(-currency_exponent).quantize(Decimal(1).scaleb(-currency_exponent)))


@dataclass(slots=True)
class Row:
    """The order columns the facts need (`Order.objects.values_list(*ORDER_FIELDS)`, or `Row.of(order)`)."""

    id: int
    external_id: str
    customer_id: int
    plan_id: int
    amount_minor: int
    currency: str
    purchased_at: dt.datetime
    sales_channel: str
    payment_method: str
    promotional: bool
    refundable: bool
    channel_fee_minor: int
    refunded_minor: int

    @classmethod
    def of(cls, order: Order) -> Row:
        return cls(*(getattr(order, name) for name in ORDER_FIELDS))


ORDER_FIELDS = tuple(f.name for f in fields(Row))  # Order's columns, in Row's order


def plan_table(ids: list[int] | None = None) -> dict[int, tuple]:
    """The plans' columns the facts need, by id: those in `ids`, or every plan (a caller deciding many
    batches reads them once)."""
    plans = Plan.objects.all() if ids is None else Plan.objects.filter(id__any_of=ids)
    return {p[0]: p[1:] for p in plans.values_list(
        "id", "external_id", "period_days", "refund_window_days", "trial_hours", "refundable", "price_minor",
        "currency")}


def facts_for_order(*, order: Order, reason: str, now: dt.datetime, submitted_at: dt.datetime | None = None) -> dict:
    """The facts for one order (see facts_for_orders)."""
    return facts_for_orders([Row.of(order)], reason=reason, now=now, submitted_at=submitted_at)[order.pk]


def facts_for_orders(rows: list[Row], *, reason: str, now: dt.datetime, submitted_at: dt.datetime | None = None,
                     plans: dict | None = None) -> dict[int, dict]:
    """The facts of a request with `reason`, submitted at `submitted_at` (default `now`) and decided at
    `now`, for each order in `rows`, by order id. Seven queries however many orders."""
    from refunddesk.refunds.models import RefundRequest

    if not rows:
        return {}
    order_ids = [r.id for r in rows]
    customer_ids = sorted({r.customer_id for r in rows})
    earliest = min(r.purchased_at for r in rows)
    latest = max(r.purchased_at for r in rows)
    customers = {c[0]: c for c in Customer.objects.filter(id__any_of=customer_ids)
                 .values_list("id", "region", "tos_violation")}
    if plans is None:
        plans = plan_table(sorted({r.plan_id for r in rows}))
    elif any(r.plan_id not in plans for r in rows):  # a plan added since the caller read them
        plans.update(plan_table())
    earlier = defaultdict(list)  # customer -> [(purchased_at, plan_id, amount, currency)]
    for cid, pat, plan_id, amount, currency in (
            Order.objects.filter(customer_id__any_of=customer_ids, purchased_at__lt=latest)
            .values_list("customer_id", "purchased_at", "plan_id", "amount_minor", "currency")):
        earlier[cid].append((pat, plan_id, amount, currency))
    usage = {u[0]: u for u in UsageRecord.objects.filter(order_id__any_of=order_ids)
             .values_list("order_id", "days_used", "paid_features_used", "quota_used_ratio")}
    contacts_by_order, contacts_by_customer = defaultdict(list), defaultdict(list)
    for cid, oid, opened_at, resolved in (
            SupportContact.objects.filter(Q(customer_id__any_of=customer_ids, order__isnull=True,
                                            opened_at__gte=earliest) | Q(order_id__any_of=order_ids))
            .values_list("customer_id", "order_id", "opened_at", "resolved")):
        if oid is None:
            contacts_by_customer[cid].append((opened_at, resolved))
        else:
            contacts_by_order[oid].append(resolved)
    granted = dict(RefundRequest.objects.filter(customer_id__any_of=customer_ids, status__in=GRANTED,
                                                decided_at__gte=now - dt.timedelta(days=365))
                   .values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n"))
    intervals = outage_intervals(regions=[customers[r.customer_id][1] for r in rows], since=earliest, now=now)

    now_ts = _ts(now)
    submitted_ts = _ts(submitted_at) if submitted_at is not None else now_ts
    out: dict[int, dict] = {}
    for r in rows:
        _, region, tos = customers[r.customer_id]
        p_ext, period, window, trial, p_refundable, price_minor, price_cur = plans[r.plan_id]
        exp = exponent(r.currency)
        before = [e for e in earlier[r.customer_id] if e[0] < r.purchased_at]
        duplicate = any(
            plan_id == r.plan_id and amount == r.amount_minor and cur == r.currency
            and pat >= r.purchased_at - DUPLICATE_WINDOW
            for pat, plan_id, amount, cur in before)
        price = Money(price_minor, price_cur) if price_minor is not None and price_cur else None
        erroneous = bool(
            price is not None and price.currency == r.currency and not r.promotional
            and price.minor != r.amount_minor and not duplicate)
        u = usage.get(r.id)
        resolved = contacts_by_order[r.id] + [res for opened, res in contacts_by_customer[r.customer_id]
                                              if opened >= r.purchased_at]
        outage = longest_continuous_outage(intervals.get(region, ()), since=r.purchased_at, now=now)
        out[r.id] = {
            "now": now_ts,
            "request": {"reason": reason, "submitted_at": submitted_ts},
            "customer": {
                "region": region,
                "new": not before,
                "tos_violation": tos,
                "refunds_last_year": granted.get(r.customer_id, 0),
            },
            "order": {
                "id": r.external_id,
                "currency": r.currency,
                "amount": _dec(r.amount_minor, exp),
                "refunded": _dec(r.refunded_minor, exp),
                "purchased_at": _ts(r.purchased_at),
                "sales_channel": r.sales_channel,
                "payment_method": r.payment_method,
                "promotional": r.promotional,
                "refundable": r.refundable and p_refundable,
                "channel_fee": _dec(r.channel_fee_minor, exp),
            },
            "plan": {
                "id": p_ext,
                "period_days": period,
                "refund_window_days": window,
                "trial_hours": trial,
            },
            "usage": {
                "days_used": str(u[1]) if u else "0",
                "paid_features_used": bool(u and u[2]),
                "quota_used_ratio": float(u[3]) if u else 0.0,
            },
            "support": {
                "contacted": bool(resolved),
                "resolved": bool(resolved) and all(resolved),
            },
            "outage": {"longest_hours": outage.longest_hours, "force_majeure": outage.force_majeure},
            "charge": {"duplicate": duplicate, "erroneous": erroneous},
        }
    return out

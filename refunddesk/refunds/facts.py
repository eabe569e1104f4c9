"""Assemble the policy facts (docs/architecture.md, contract v1) for orders from the database.

The result is JSON-shaped: timestamps are RFC 3339 strings, money is a decimal string in
major units. It is stored with every decision, so a decision can be replayed exactly.

One definition, for one order or many: `facts_for_orders` reads what it needs for all the
orders it is given in seven queries (the submission of one request, the portal's previews of
a customer's orders, and outage compensation's batches of a thousand all use it).

The charge facts describe the purchase as it was (docs/architecture.md, rules for money 4):

- charge.erroneous: the amount paid differs from what was due for THIS order when it was bought:
  the order's `price_due` when the merchant's billing sent one; else, unless the order is
  promotional (sold below the list price on purpose), the plan's list price in the order's
  currency in force at `purchased_at` (billing.PlanPrice, the plan's price history). No known
  price due (no price_due, no plan price in that currency then): false. Never today's list price.
- charge.duplicate: the payment repeats an earlier one of the same customer that still stands:
  same plan, same currency, same amount, bought at most DUPLICATE_WINDOW (24 hours) earlier,
  and not refunded in full - money refunded, or held by refunds in flight (Refund statuses
  pending, submitted, succeeded, needs_attention, read through the order's `refunds`), reaching
  its amount. A different plan, a different currency or a different amount is no duplicate:
  two plans are two purchases (an upgrade, a gift), and amounts in two currencies cannot be
  compared without a rate the desk does not have. A customer who thinks otherwise says so
  (reason duplicate_charge) and the policy sends it to a person. Where duplicate is true,
  erroneous is false: a repeated charge is refunded as a duplicate, not as a wrong amount.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, fields
from decimal import Decimal

from django.db.models import Count, Q, Sum

from refunddesk.billing.models import Customer, Order, Plan, SupportContact, UsageRecord
from refunddesk.core.money import exponent
from refunddesk.status.outages import longest_continuous_outage
from refunddesk.status.selectors import outage_intervals

# Two charges for the same plan, currency and amount this close together are a duplicate charge.
DUPLICATE_WINDOW = dt.timedelta(hours=24)
GRANTED = ("approved", "accepted", "refunding", "refunded")
# Refund statuses whose amount is held against their order (payments.models.RESERVING, named here:
# refunds does not import payments).
RESERVING = ("pending", "submitted", "succeeded", "needs_attention")


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
    price_due_minor: int | None

    @classmethod
    def of(cls, order: Order) -> Row:
        return cls(*(getattr(order, name) for name in ORDER_FIELDS))


ORDER_FIELDS = tuple(f.name for f in fields(Row))  # Order's columns, in Row's order


def plan_table(ids: list[int] | None = None) -> dict[int, tuple]:
    """The plans' columns the facts need, by id: those in `ids`, or every plan (a caller deciding many
    batches reads them once). One query. Each value is (external_id, period_days, refund_window_days,
    trial_hours, refundable, history), history being {currency: ([effective_from, ...], [price_minor or
    None, ...])} in time order, the plan's list prices (billing.PlanPrice) for `price_in_force`."""
    plans = Plan.objects.all() if ids is None else Plan.objects.filter(id__any_of=ids)
    table: dict[int, tuple] = {}
    for pid, ext, period, window, trial, refundable, currency, since, price in (
            plans.order_by("id", "prices__currency", "prices__effective_from").values_list(
                "id", "external_id", "period_days", "refund_window_days", "trial_hours", "refundable",
                "prices__currency", "prices__effective_from", "prices__price_minor")):
        entry = table.get(pid)
        if entry is None:
            entry = table[pid] = (ext, period, window, trial, refundable, {})
        if currency is not None:
            starts, prices = entry[5].setdefault(currency, ([], []))
            starts.append(since)
            prices.append(price)
    return table


def price_in_force(history: dict, currency: str, at: dt.datetime) -> int | None:
    """The list price in minor units of `currency` in force at `at` in a plan's `history` (plan_table),
    or None when the plan had none in that currency then."""
    starts, prices = history.get(currency, ((), ()))
    i = bisect_right(starts, at) - 1
    return prices[i] if i >= 0 else None


def facts_for_order(*, order: Order, reason: str, now: dt.datetime, submitted_at: dt.datetime | None = None,
                    usage_at_submission: dict[int, tuple[Decimal, float]] | None = None) -> dict:
    """The facts for one order (see facts_for_orders)."""
    return facts_for_orders([Row.of(order)], reason=reason, now=now, submitted_at=submitted_at,
                            usage_at_submission=usage_at_submission)[order.pk]


def facts_for_orders(rows: list[Row], *, reason: str, now: dt.datetime, submitted_at: dt.datetime | None = None,
                     plans: dict | None = None,
                     usage_at_submission: dict[int, tuple[Decimal, float]] | None = None) -> dict[int, dict]:
    """The facts of a request with `reason`, submitted at `submitted_at` (default `now`) and decided at
    `now`, for each order in `rows`, by order id. Seven queries however many orders (six when the caller
    passes `plans`, from plan_table, with their price history): the charge facts (module docstring) read
    the plans' price history with the plans and the refunds held on earlier orders with those orders.

    Frequent-refunder facts (seed 000, FAQ Q4 "如果在审核期间继续大量使用,可能会影响审核结果"):
    `customer.refunded_share` is the share of the customer's orders bought in the 365 days before `now` on
    which money was refunded (0 with no such order); `usage.since_request_days` / `_quota_ratio` are the usage
    reported since submission: the current usage minus `usage_at_submission` {order id: (days_used,
    quota_used_ratio)} (the stored facts of a request being decided again), never below 0; 0 at submission."""
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
    # customer -> [(purchased_at, plan_id, amount, currency, stands)]; an earlier order "stands" while the
    # money refunded or held by refunds in flight on it is less than its amount
    earlier = defaultdict(list)
    year_ago = now - dt.timedelta(days=365)
    orders_in_year, refunded_in_year = defaultdict(int), defaultdict(int)
    for _id, cid, pat, plan_id, amount, currency, refunded, held in (
            Order.objects.filter(customer_id__any_of=customer_ids, purchased_at__lte=max(latest, now))
            .values_list("id", "customer_id", "purchased_at", "plan_id", "amount_minor", "currency",
                         "refunded_minor")
            .annotate(held=Sum("refunds__amount_minor", filter=Q(refunds__status__in=RESERVING)))):
        if year_ago <= pat <= now:
            orders_in_year[cid] += 1
            refunded_in_year[cid] += refunded > 0
        if pat < latest:
            earlier[cid].append((pat, plan_id, amount, currency, max(refunded, held or 0) < amount))
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
        p_ext, period, window, trial, p_refundable, history = plans[r.plan_id]
        exp = exponent(r.currency)
        before = [e for e in earlier[r.customer_id] if e[0] < r.purchased_at]
        duplicate = any(
            stands and plan_id == r.plan_id and amount == r.amount_minor and cur == r.currency
            and pat >= r.purchased_at - DUPLICATE_WINDOW
            for pat, plan_id, amount, cur, stands in before)
        if r.price_due_minor is not None:
            due = r.price_due_minor
        elif r.promotional:
            due = None
        else:
            due = price_in_force(history, r.currency, r.purchased_at)
        erroneous = due is not None and due != r.amount_minor and not duplicate
        u = usage.get(r.id)
        since_days, since_quota = Decimal(0), 0.0
        then = usage_at_submission.get(r.id) if usage_at_submission else None
        if then is not None and u is not None:
            since_days = max(Decimal(0), u[1] - Decimal(then[0]))
            since_quota = min(1.0, max(0.0, float(u[3]) - float(then[1])))
        paid = orders_in_year[r.customer_id]
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
                "refunded_share": round(refunded_in_year[r.customer_id] / paid, 4) if paid else 0.0,
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
                "since_request_days": str(since_days),
                "since_request_quota_ratio": round(since_quota, 4),
            },
            "support": {
                "contacted": bool(resolved),
                "resolved": bool(resolved) and all(resolved),
            },
            "outage": {"longest_hours": outage.longest_hours, "force_majeure": outage.force_majeure},
            "charge": {"duplicate": duplicate, "erroneous": erroneous},
        }
    return out

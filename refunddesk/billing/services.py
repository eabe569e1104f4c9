"""Writes for billing data. Every function validates everything first, then writes in
one transaction, so bad input leaves nothing half-written. Upserts are keyed on the
merchant's own ids, so sending the same payload twice changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from refunddesk.billing.models import (
    Customer,
    Language,
    Order,
    PaymentMethod,
    Plan,
    PlanPrice,
    SalesChannel,
    SupportContact,
    UsageRecord,
)
from refunddesk.core.errors import Conflict, ValidationError
from refunddesk.core.money import Money, to_decimal, validate_currency
from refunddesk.core.vocabulary import STORE_CHANNELS

KNOWN_GATEWAYS = ("sandbox", "manual", "stripe", "alipay", "wechat_pay", *STORE_CHANNELS)


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
    tos_violation: bool = False, password: str | None = None,
) -> tuple[Customer, bool]:
    """Create or update a customer (PUT /api/v1/customers/{id}). Returns (customer, created).

    `email` is also the customer's sign-in: one email is one customer and one account, so an email another
    customer uses, or (for a customer with an account, or when a password is given) another account that
    cannot become this customer's, is refused (Conflict, 409, field email). When the email changes,
    the customer's sign-in account moves with it (its email, and its user name where that was the email).
    `password` (optional; None leaves it as it is) sets or resets the customer's password, creating the
    account if there is none yet; it is checked by Django's AUTH_PASSWORD_VALIDATORS (ValidationError,
    422, field password), stored hashed by Django, and the same password sent again changes nothing (open
    sessions and sign-in links stay valid). Other bad input: ValidationError naming the field. Nothing is
    written when it raises.
    """
    _require(external_id, "external_id")
    _require(email, "email")
    _require(region, "region")
    email = email.strip()
    if "@" not in email:
        raise ValidationError(f"'{email}' is not an email address.", field="email")
    _choice(language, Language, "language")
    values = {"email": email, "name": name, "region": region, "language": language, "tos_violation": tos_violation}
    customer = Customer.objects.select_for_update(no_key=True).filter(external_id=external_id).first()
    other = Customer.objects.filter(email__iexact=email).exclude(external_id=external_id).first()
    if other is not None:
        raise Conflict(_("customer %(other)s already has the email %(email)s; one email signs in to one "
                         "customer account.") % {"other": other.external_id, "email": email}, field="email")
    user = customer.user if customer is not None else None
    taken = get_user_model().objects.filter(email__iexact=email).exclude(pk=user.pk if user else None).first()
    if taken is not None and (user is not None or (password is not None and not _linkable(taken))):
        raise Conflict(_("another sign-in account already uses the email %(email)s.") % {"email": email},
                       field="email")
    if password is not None:
        _check_password(password, email=email, name=name)
    created = customer is None
    if created:
        customer = Customer.objects.create(external_id=external_id, **values)
    else:
        old_email = customer.email
        customer, _changed = _save_if_changed(customer, values)
        if user is not None and user.email != email:
            _account_move(user, old_email=old_email, email=email)
    if password is not None:
        account = customer_account_ensure(customer=customer)
        if not account.check_password(password):
            account.set_password(password)
            account.save(update_fields=["password"])
    return customer, created


def _linkable(user) -> bool:
    """An existing account a customer may take over as theirs: no other customer's, no staff member's."""
    return not (user.is_staff or user.is_superuser or Customer.objects.filter(user=user).exists())


def _check_password(password: str, *, email: str, name: str) -> None:
    from django.contrib.auth import password_validation
    from django.core.exceptions import ValidationError as DjangoValidationError

    if not password:
        raise ValidationError("must not be empty; leave it out to keep the current password.", field="password")
    try:
        password_validation.validate_password(password, get_user_model()(email=email, first_name=name[:150]))
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(str(m) for m in exc.messages), field="password") from None


def _free_username(email: str) -> str:
    users = get_user_model().objects
    base = email.strip().lower()[:150]
    if not users.filter(username=base).exists():
        return base
    n = 2
    while users.filter(username=f"{base[:140]}~{n}").exists():
        n += 1
    return f"{base[:140]}~{n}"


def _account_move(user, *, old_email: str, email: str) -> None:
    """The customer's email changed: its sign-in follows (caller checked no other account has `email`)."""
    user.email = email
    fields = ["email"]
    if user.username.lower() == old_email.strip().lower():
        user.username = _free_username(email)
        fields.append("username")
    user.save(update_fields=fields)


@transaction.atomic
def customer_account_ensure(*, customer: Customer):
    """The customer's sign-in account (a core.User), created or linked on first use. Returns the User.

    A customer fed by the billing API has no account until it first needs one (a sign-in link, a portal
    session, a password set by the merchant). An existing account with the customer's email is linked when
    it belongs to no other customer and to no staff member; otherwise Conflict (409, field email). A new
    account has the email as user name, the customer's name and language, and no usable password (it signs
    in by link, by portal session, or by a password the merchant sets).
    """
    customer = Customer.objects.select_for_update(of=("self",), no_key=True).select_related("user").get(pk=customer.pk)
    if customer.user is not None:
        return customer.user
    users = get_user_model().objects
    user = users.filter(email__iexact=customer.email).first()
    if user is None:
        user = users.create(username=_free_username(customer.email), email=customer.email,
                            first_name=(customer.name or "")[:150], language=customer.language)
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif not _linkable(user):
        raise Conflict(_("another sign-in account already uses the email %(email)s.") % {"email": customer.email},
                       field="email")
    customer.user = user
    customer.save(update_fields=["user", "updated_at"])
    return user


# --- plans -----------------------------------------------------------------


def _wanted_prices(price: object | None, currency: str | None, prices: Sequence[Mapping] | None) -> dict[str, int]:
    """{currency: list price in minor units} that a plan PUT states, validated; `price`/`currency` first."""
    wanted: dict[str, int] = {}
    if price is not None:
        if not currency:
            raise ValidationError("is required when a price is given.", field="currency")
        wanted[currency] = Money.from_decimal(price, currency, field="price").minor
    for i, item in enumerate(prices or ()):
        cur, amount = item.get("currency"), item.get("price")
        _require(cur, f"prices[{i}].currency")
        _require(amount, f"prices[{i}].price")
        validate_currency(cur, field=f"prices[{i}].currency")
        if cur in wanted:
            raise ValidationError(f"{cur} is priced twice; give one price per currency.", field=f"prices[{i}].currency")
        wanted[cur] = Money.from_decimal(amount, cur, field=f"prices[{i}].price").minor
    return wanted


def plan_prices_at(*, plan: Plan, at: dt.datetime) -> dict[str, int | None]:
    """The plan's list prices in force at `at`, {currency: minor units}, from its price history (PlanPrice);
    None for a currency whose price was withdrawn. Currencies never priced by then are absent."""
    in_force: dict[str, int | None] = {}
    for currency, price_minor in (PlanPrice.objects.filter(plan=plan, effective_from__lte=at)
                                  .order_by("currency", "effective_from").values_list("currency", "price_minor")):
        in_force[currency] = price_minor
    return in_force


def _record_prices(plan: Plan, wanted: dict[str, int], at: dt.datetime) -> None:
    """Append the changes from the prices in force at `at` to the plan's history (under the plan's lock).
    The history is only ever added to: a change may not take effect before the latest entry in its currency,
    for the prices already in force for the orders bought since then would change behind their backs."""
    in_force = plan_prices_at(plan=plan, at=at)
    latest = dict(PlanPrice.objects.filter(plan=plan).values("currency").annotate(last=Max("effective_from"))
                  .values_list("currency", "last"))
    for currency in sorted(set(in_force) | set(wanted)):
        new = wanted.get(currency)
        if in_force.get(currency) == new:
            continue
        if currency in latest and latest[currency] >= at:
            raise Conflict(
                _("the plan's price in %(currency)s already changed on %(latest)s; a new price can only take "
                  "effect after that. Orders bought earlier are corrected with their price_due instead.")
                % {"currency": currency, "latest": latest[currency].isoformat()},
                field="price_effective_from")
        PlanPrice.objects.create(plan=plan, currency=currency, price_minor=new, effective_from=at)


@transaction.atomic
def plan_upsert(
    *, external_id: str, name: str, period_days: int, refund_window_days: int, trial_hours: int = 0,
    refundable: bool = True, price: object | None = None, currency: str | None = None,
    prices: Sequence[Mapping] | None = None, price_effective_from: dt.datetime | None = None,
) -> tuple[Plan, bool]:
    """Create or update a plan and keep its price history. Returns (plan, created).

    `price` (decimal in major units, str/int/Decimal) with its `currency` is the plan's list price;
    `prices` ([{"price", "currency"}]) adds the list prices in other currencies. Together they are the
    plan's list prices from `price_effective_from` (aware, not in the future; default: now): a currency
    whose price differs from the one in force then gets a new PlanPrice entry, a currency no longer listed
    is withdrawn (an entry without price), an unchanged one writes nothing (sending the same PUT twice
    changes nothing). The facts compare each order with the price in force when it was bought (docs/architecture.md,
    money rule 4), so the first price of a plan applies only from `price_effective_from`: a merchant
    loading past orders sends the date its price took effect, or each order's price_due.

    Raises ValidationError (422) for bad input and Conflict (409, field price_effective_from) for a
    change dated before the latest entry of its currency. Nothing is written when it raises.
    """
    _require(external_id, "external_id")
    _require(name, "name")
    for field, value in (("period_days", period_days), ("refund_window_days", refund_window_days)):
        if value is None or int(value) < 1:
            raise ValidationError("must be a whole number of days, 1 or more.", field=field)
    if trial_hours is None or int(trial_hours) < 0:
        raise ValidationError("must be 0 or more hours.", field="trial_hours")
    wanted = _wanted_prices(price, currency, prices)
    now = timezone.now()
    at = _not_future(price_effective_from, "price_effective_from") if price_effective_from is not None else now
    values = {
        "name": name, "period_days": int(period_days), "refund_window_days": int(refund_window_days),
        "trial_hours": int(trial_hours), "refundable": refundable, "currency": currency or "",
    }
    plan = Plan.objects.select_for_update(no_key=True).filter(external_id=external_id).first()
    created = plan is None
    if created:
        plan = Plan.objects.create(external_id=external_id, price_minor=None, **values)
    _record_prices(plan, wanted, at)
    # the list price shown is the one in force now in the main currency (a late replay of an older PUT
    # does not bring back an older price)
    values["price_minor"] = plan_prices_at(plan=plan, at=max(at, now)).get(currency) if currency else None
    _save_if_changed(plan, values)
    return plan, created


# --- orders ----------------------------------------------------------------


@dataclass(frozen=True)
class OrderInput:
    """One order as the merchant's billing sends it (PUT /api/v1/orders/{id}, a CSV row). Amounts
    (`amount`, `channel_fee`, `price_due`) are decimals in major units of `currency` (str, int or Decimal,
    never float); `price_due` None: the billing does not say what was due (see order_upsert)."""

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
    price_due: object | None = None


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
    due = (Money.from_decimal(data.price_due, data.currency, field="price_due")
           if data.price_due not in (None, "") else None)
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
        "price_due_minor": due.minor if due is not None else None,
    }


# What a refund is computed on and sent against (docs/architecture.md, money rule 5), by the name the import uses.
MONEY_FIELDS = {"amount_minor": "amount", "currency": "currency", "gateway": "gateway",
                "gateway_charge_ref": "gateway_charge_ref"}
# Refund request statuses after which no money can follow (refunds.states: withdrawn, sent to the store,
# finally rejected). Named here, not imported: billing imports neither refunds nor payments (docs/architecture.md).
_REQUEST_ENDED = ("withdrawn", "redirected", "rejected_final")


def _money_on(order: Order) -> str | None:
    """What ties the order's money fields down, in words, or None: money refunded, a Refund of any status
    (it was computed on, or sent against, this amount and charge), or a refund request that can still lead
    to one. Read through the reverse relations `refunds` and `refund_requests`, under the order's lock
    (refund creation and submission lock the order row too)."""
    if order.refunded_minor:
        return _("%(amount)s has been refunded on it") % {"amount": f"{order.refunded.amount} {order.currency}"}
    refund = order.refunds.order_by("-created_at").values_list("amount_minor", "status").first()
    if refund is not None:
        return _("a refund of %(amount)s exists for it (%(status)s)") % {
            "amount": f"{Money(refund[0], order.currency).amount} {order.currency}", "status": refund[1]}
    request = (order.refund_requests.exclude(status__in=_REQUEST_ENDED).order_by("-submitted_at")
               .values_list("public_id", "status").first())
    if request is not None:
        return _("refund request %(id)s is pending on it (%(status)s)") % {"id": request[0], "status": request[1]}
    return None


def order_frozen_fields(*, order: Order) -> dict[str, str]:
    """The fields of `order` that may no longer change, {model field name: why, in words} (docs/architecture.md,
    money rule 5; issue 13 item 9). amount_minor, currency, gateway and gateway_charge_ref once money is
    refunded on it, a Refund of any status exists for it, or a refund request that can still lead to one is
    pending on it; customer once, in addition, any refund request was ever made on it (the request, its
    timeline and its money belong to the customer who applied: moving the order would show them to, or
    refund the money of, someone else). Up to three queries; call it under the order's lock to act on it."""
    why = _money_on(order)
    frozen = dict.fromkeys(MONEY_FIELDS, why) if why else {}
    if why is None:
        request = order.refund_requests.order_by("-submitted_at").values_list("public_id", flat=True).first()
        why = _("refund request %(id)s was made on it") % {"id": request} if request is not None else None
    if why is not None:
        frozen["customer"] = why
    return frozen


def _check_order_change(order: Order, values: dict) -> None:
    """Refuse a change of a frozen field (order_frozen_fields). Raises Conflict (409) naming the first
    field at fault in `field` and all of them in `fields`."""
    changed = [name for name in MONEY_FIELDS if getattr(order, name) != values[name]]
    if order.customer_id != values["customer"].pk:
        changed.append("customer")
    if not changed:
        return  # nothing to check: no query on an unchanged PUT
    frozen = order_frozen_fields(order=order)
    refused = [name for name in changed if name in frozen]
    if not refused:
        return
    names = [MONEY_FIELDS.get(name, "customer_id") for name in refused]
    if refused == ["customer"]:
        message = _("order %(order)s cannot move to another customer: %(why)s. Its requests and refunds belong "
                    "to customer %(customer)s.") % {"order": order.external_id, "why": frozen["customer"],
                                                    "customer": order.customer.external_id}
    else:
        message = _("cannot change once a refund exists for order %(order)s or is pending on it: %(why)s. "
                    "Refunds are computed on and sent against the order's amount, currency, gateway and charge "
                    "as they are; correct the charge with the gateway and finance instead.") % {
            "order": order.external_id, "why": frozen[refused[0]]}
    raise Conflict(message, field=names[0], code="order_has_refunds", fields=names)


@transaction.atomic
def order_upsert(*, data: OrderInput) -> tuple[Order, bool]:
    """Create or update an order from the merchant's billing. Returns (order, created).

    Amounts (`amount`, `channel_fee`, `price_due`) are decimals in major units of `currency` (str, int or
    Decimal; never float), stored as minor units. `price_due` (optional) is what was due for this order
    when it was bought; the facts compare the amount with it (charge.erroneous, docs/architecture.md facts contract).

    Raises ValidationError (422, `field` names the input) for bad input, and Conflict (409, code
    order_has_refunds, `field` the first field at fault, `fields` all of them) for a change of amount,
    currency, gateway or gateway_charge_ref once a refund exists for the order or a request is pending on
    it, or a move to another customer once a request was made on it (docs/architecture.md, money rule 5). The order
    row is locked first; nothing is written when it raises.
    """
    values = _order_values(data)
    order = Order.objects.select_for_update(no_key=True).filter(external_id=data.external_id).first()
    if order is None:
        return Order.objects.create(external_id=data.external_id, **values), True
    _check_order_change(order, values)
    order, _changed = _save_if_changed(order, values)
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
    record = UsageRecord.objects.select_for_update(no_key=True).filter(order=order).first()
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
    contact = SupportContact.objects.select_for_update(no_key=True).filter(external_id=external_id).first()
    if contact is None:
        return SupportContact.objects.create(external_id=external_id, **values), True
    contact, _ = _save_if_changed(contact, values)
    return contact, False

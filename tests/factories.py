"""factory_boy factories for the models; tests build data with these and the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from refunddesk.billing.models import Customer, Order, Plan, PlanPrice, SupportContact, UsageRecord
from refunddesk.core.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("pw-for-tests")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"cus_{n:05d}")
    email = factory.LazyAttribute(lambda c: f"{c.external_id}@example.test")
    name = factory.Sequence(lambda n: f"Customer {n}")
    region = "cn-east"
    language = "en"


# Factory plans have had their list price since long before any date the tests use.
PRICE_SINCE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        skip_postgeneration_save = True

    external_id = factory.Sequence(lambda n: f"plan_{n}")
    name = "Monthly"
    period_days = 30
    refund_window_days = 7
    trial_hours = 24
    refundable = True
    price_minor = 3000
    currency = "CNY"

    @factory.post_generation
    def price_history(obj, create, extracted, **kwargs):
        """The plan's price history (billing.PlanPrice): by default its list price since PRICE_SINCE;
        `price_history=[(effective_from, price_minor, currency), ...]` gives it instead, `[]` none."""
        if not create:
            return
        entries = extracted if extracted is not None else (
            [(PRICE_SINCE, obj.price_minor, obj.currency)] if obj.price_minor is not None and obj.currency else [])
        for since, price_minor, currency in entries:
            PlanPrice.objects.create(plan=obj, currency=currency, price_minor=price_minor, effective_from=since)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    external_id = factory.Sequence(lambda n: f"ORD-{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    plan = factory.SubFactory(PlanFactory)
    amount_minor = 3000
    currency = "CNY"
    purchased_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=2))
    sales_channel = "web"
    payment_method = "alipay"
    gateway = "sandbox"
    gateway_charge_ref = factory.Sequence(lambda n: f"ch_{n:06d}")
    channel_fee_minor = 18


class UsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageRecord

    order = factory.SubFactory(OrderFactory)
    days_used = Decimal("1.00")
    paid_features_used = False
    quota_used_ratio = Decimal("0.1000")


class SupportContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportContact

    external_id = factory.Sequence(lambda n: f"T-{n:05d}")
    customer = factory.SubFactory(CustomerFactory)
    topic = "Cannot connect"
    opened_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=5))
    resolved = False

"""factory_boy factories for the models; tests build data with these and the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from refunddesk.billing.models import Customer, Order, Plan, SupportContact, UsageRecord
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


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    external_id = factory.Sequence(lambda n: f"plan_{n}")
    name = "Monthly"
    period_days = 30
    refund_window_days = 7
    trial_hours = 24
    refundable = True
    price_minor = 3000
    currency = "CNY"


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

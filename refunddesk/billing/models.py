"""What the merchant sold, as the policy facts need it. Money is integer minor units."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunddesk.core.money import Money
from refunddesk.core.vocabulary import PAYMENT_METHODS, SALES_CHANNELS, text_choices

# The values come from the facts contract's vocabularies (core.vocabulary); only the labels are said here.
SalesChannel = text_choices("SalesChannel", SALES_CHANNELS, {
    "web": _("Website"), "app_store": _("Apple App Store"), "google_play": _("Google Play"),
    "reseller": _("Reseller"),
})
PaymentMethod = text_choices("PaymentMethod", PAYMENT_METHODS, {
    "card": _("Card"), "alipay": _("Alipay"), "wechat_pay": _("WeChat Pay"), "paypal": _("PayPal"),
    "bank_transfer": _("Bank transfer"), "other": _("Other"),
})


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class Customer(models.Model):
    external_id = models.CharField(_("merchant's customer id"), max_length=100, unique=True)
    email = models.EmailField(_("email"), db_index=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    region = models.CharField(_("region"), max_length=32, db_index=True)
    language = models.CharField(_("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS)
    tos_violation = models.BooleanField(_("terms violation"), default=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return f"{self.name or self.email} ({self.external_id})"


class Plan(models.Model):
    external_id = models.CharField(_("merchant's plan id"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    period_days = models.PositiveIntegerField(_("period (days)"))
    refund_window_days = models.PositiveIntegerField(_("refund window (days)"))
    trial_hours = models.PositiveIntegerField(_("trial (hours)"), default=0)
    refundable = models.BooleanField(_("refundable"), default=True)
    # the list price in force now, in the plan's main currency (what the last PUT said); for display only:
    # the facts read PlanPrice, the price in force when each order was bought (docs/architecture.md, money rule 4)
    price_minor = models.BigIntegerField(_("list price (minor units)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"

    @property
    def price(self) -> Money | None:
        return Money(self.price_minor, self.currency) if self.price_minor is not None and self.currency else None


class PlanPrice(models.Model):
    """One change of a plan's list price in one currency: `price_minor` (minor units of `currency`) is the
    price from `effective_from` until the plan's next entry in that currency. `price_minor` None: from then
    on the plan has no list price in that currency. Written only by `billing.services.plan_upsert`; the
    facts read the entry in force when an order was bought (docs/architecture.md, rules for money 4)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(_("currency"), max_length=3)
    price_minor = models.BigIntegerField(_("list price (minor units)"), null=True, blank=True)
    effective_from = models.DateTimeField(_("in force from"))
    recorded_at = models.DateTimeField(_("price recorded at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("plan price")
        verbose_name_plural = _("plan prices")
        ordering = ["plan", "currency", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "currency", "effective_from"], name="one_plan_price_per_moment"),
            models.CheckConstraint(condition=models.Q(price_minor__isnull=True) | models.Q(price_minor__gte=0),
                                   name="plan_price_not_negative"),
        ]

    def __str__(self) -> str:
        shown = "-" if self.price_minor is None else Money(self.price_minor, self.currency).amount
        return f"{self.plan_id} {shown} {self.currency} from {self.effective_from:%Y-%m-%d %H:%M}"


class Order(models.Model):
    external_id = models.CharField(_("order number"), max_length=100, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="orders")
    amount_minor = models.BigIntegerField(_("amount paid (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    purchased_at = models.DateTimeField(_("purchased at"), db_index=True)
    sales_channel = models.CharField(_("sales channel"), max_length=20, choices=SalesChannel.choices)
    payment_method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices)
    gateway = models.CharField(_("gateway"), max_length=30, default="sandbox")
    gateway_charge_ref = models.CharField(_("gateway charge reference"), max_length=200, blank=True)
    promotional = models.BooleanField(_("promotional"), default=False)
    refundable = models.BooleanField(_("refundable"), default=True)
    channel_fee_minor = models.BigIntegerField(_("channel fee (minor units)"), default=0)
    # what was due for this order when it was bought, as the merchant's billing says (minor units of
    # `currency`); None: not said, the plan's price in force at purchase is used (charge.erroneous)
    price_due_minor = models.BigIntegerField(_("price due (minor units)"), null=True, blank=True)
    refunded_minor = models.BigIntegerField(_("refunded so far (minor units)"), default=0)
    service_ended_at = models.DateTimeField(_("service ended at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["customer", "purchased_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gte=0), name="order_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(refunded_minor__gte=0) & models.Q(refunded_minor__lte=models.F("amount_minor")),
                name="order_refunded_within_amount",
            ),
            models.CheckConstraint(condition=models.Q(channel_fee_minor__gte=0), name="order_fee_not_negative"),
            models.CheckConstraint(condition=models.Q(price_due_minor__isnull=True) | models.Q(price_due_minor__gte=0),
                                   name="order_price_due_not_negative"),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def refunded(self) -> Money:
        return Money(self.refunded_minor, self.currency)

    @property
    def refundable_remaining(self) -> Money:
        return Money(self.amount_minor - self.refunded_minor, self.currency)

    @property
    def channel_fee(self) -> Money:
        return Money(self.channel_fee_minor, self.currency)

    @property
    def price_due(self) -> Money | None:
        return None if self.price_due_minor is None else Money(self.price_due_minor, self.currency)


class UsageRecord(models.Model):
    """How much of the paid period the customer used, as last reported by the merchant."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="usage")
    days_used = models.DecimalField(_("days used"), max_digits=8, decimal_places=2, default=0)
    paid_features_used = models.BooleanField(_("paid features used"), default=False)
    quota_used_ratio = models.DecimalField(_("quota used (0..1)"), max_digits=5, decimal_places=4, default=0)
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")

    def __str__(self) -> str:
        return f"usage of {self.order_id}"


class SupportContact(models.Model):
    """A conversation with support about a problem, resolved or not."""

    external_id = models.CharField(_("merchant's ticket id"), max_length=100, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="support_contacts")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="support_contacts")
    topic = models.CharField(_("topic"), max_length=200)
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    resolved = models.BooleanField(_("resolved"), default=False)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("support contact")
        verbose_name_plural = _("support contacts")

    def __str__(self) -> str:
        return self.topic

"""The one gateway contract: frozen dataclasses in and out, a Protocol every adapter satisfies.

A refund is sent with ``gateway.refund(RefundCommand)``. It returns a ``GatewayResult`` (the gateway
accepted it: ``pending`` or already ``succeeded``; rarely ``failed`` when the gateway accepted and failed
it at once) or raises one of ``Retryable``, ``Declined``, ``Ambiguous`` (see ``errors.py``).

``gateway.fetch(RefundQuery)`` asks the gateway what became of a refund, *never creating one*. It
returns ``None`` when the gateway has no refund under that idempotency key: then (and only then) it is
safe to send the command again. Fetch failures raise ``Retryable`` (a read is always safe to repeat)
or ``GatewayConfigError``.

``gateway.list_refunds(charge_ref, currency)`` returns every refund the gateway holds on a charge (ours,
made in its dashboard, succeeded, pending or failed), each with the ``idempotency_key`` it carries, or
``None`` when the gateway has no such listing (Alipay, WeChat Pay, manual): reconciliation then asks
about each of our refunds with ``fetch`` instead. Failures raise ``Retryable`` or ``GatewayConfigError``.

No gateway state is final just because we saw it once: a refund that succeeded can fail later (Stripe:
the card was closed; WeChat Pay: ABNORMAL, the money bounced). ``fetch`` and ``list_refunds`` always
answer what the gateway holds *now*.

``gateway.parse_webhook(headers, body)`` verifies the signature (and, where the gateway signs a
timestamp, its freshness) *before reading anything*, raising ``WebhookRejected``; then returns the refund
events in the body (possibly none: a verified notification about something else).

Nothing here imports Django.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, Protocol, runtime_checkable

from refunddesk.core.money import Money

RefundStatus = Literal["pending", "succeeded", "failed", "abnormal"]
PENDING: Final = "pending"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"  # final at the gateway: no money moved (or it came back), it will never succeed
#: The gateway could not deliver the money and waits for the merchant to act in its own console (WeChat
#: Pay ABNORMAL: the buyer's card was closed; the merchant re-routes it). Not final: it may still succeed.
ABNORMAL: Final = "abnormal"
STATUSES: Final = (PENDING, SUCCEEDED, FAILED, ABNORMAL)

# Webhook event kinds.
REFUND_PENDING: Final = "refund.pending"
REFUND_SUCCEEDED: Final = "refund.succeeded"
REFUND_FAILED: Final = "refund.failed"
REFUND_ABNORMAL: Final = "refund.abnormal"
#: A summary about a charge (Stripe ``charge.refunded``): ``amount`` is the total refunded on the charge
#: so far, ``gateway_ref`` is None. Reconcile the charge's refunds with ``fetch``.
CHARGE_REFUNDED: Final = "charge.refunded"
EVENT_KINDS: Final = (REFUND_PENDING, REFUND_SUCCEEDED, REFUND_FAILED, REFUND_ABNORMAL, CHARGE_REFUNDED)

KIND_FOR_STATUS: Final[dict[str, str]] = {
    PENDING: REFUND_PENDING,
    SUCCEEDED: REFUND_SUCCEEDED,
    FAILED: REFUND_FAILED,
    ABNORMAL: REFUND_ABNORMAL,
}

# What all three real gateways accept as a refund number / idempotency key:
# WeChat out_refund_no is [0-9A-Za-z_-|*@]{1,64}, Alipay out_request_no <= 64, Stripe keys <= 255.
IDEMPOTENCY_KEY_RE: Final = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")


def check_idempotency_key(key: str) -> str:
    if not isinstance(key, str) or not IDEMPOTENCY_KEY_RE.match(key):
        raise ValueError(
            f"idempotency key {key!r} must be 1-64 characters of 0-9 A-Z a-z _ - | * @ "
            "(what Stripe, Alipay and WeChat Pay all accept)"
        )
    return key


@dataclass(frozen=True, slots=True)
class RefundCommand:
    """Send ``amount`` of the original ``charge_ref`` back.

    ``idempotency_key`` identifies this refund for ever (derive it from the Refund row, e.g. ``rf_123``):
    Stripe Idempotency-Key + ``metadata.refunddesk_refund_id``, Alipay ``out_request_no``, WeChat
    ``out_refund_no``. ``order_total`` is the original charge's total (Alipay and WeChat need it).
    ``charge_ref`` is the gateway's charge reference; for Alipay/WeChat it may be prefixed
    ``trade_no:`` / ``transaction_id:`` (gateway's number) or ``out_trade_no:`` (merchant's number).
    """

    idempotency_key: str
    charge_ref: str
    amount: Money
    order_total: Money
    reason: str = ""
    notify_url: str | None = None

    def __post_init__(self) -> None:
        check_idempotency_key(self.idempotency_key)
        if not isinstance(self.charge_ref, str) or not self.charge_ref.strip():
            raise ValueError("charge_ref is empty: the order has no gateway charge reference to refund")
        if not isinstance(self.amount, Money) or not isinstance(self.order_total, Money):
            raise TypeError("amount and order_total must be Money")
        if self.amount.currency != self.order_total.currency:
            raise ValueError(f"refund in {self.amount.currency} of an order in {self.order_total.currency}")
        if self.amount.minor <= 0:
            raise ValueError(f"refund amount must be positive, got {self.amount}")
        if self.amount.minor > self.order_total.minor:
            raise ValueError(f"refund {self.amount} is more than the order total {self.order_total}")

    def query(self, gateway_ref: str | None = None) -> RefundQuery:
        """The ``RefundQuery`` that finds this command's refund at the gateway."""
        return RefundQuery(
            idempotency_key=self.idempotency_key,
            charge_ref=self.charge_ref,
            amount=self.amount,
            order_total=self.order_total,
            gateway_ref=gateway_ref,
        )


@dataclass(frozen=True, slots=True)
class RefundQuery:
    """Which refund ``fetch`` looks for: by our key on the charge, or by the gateway's ref when known."""

    idempotency_key: str
    charge_ref: str
    amount: Money
    order_total: Money
    gateway_ref: str | None = None

    def __post_init__(self) -> None:
        check_idempotency_key(self.idempotency_key)
        if not isinstance(self.amount, Money) or not isinstance(self.order_total, Money):
            raise TypeError("amount and order_total must be Money")


@dataclass(frozen=True, slots=True)
class GatewayResult:
    """What the gateway says about one refund. ``raw`` is JSON-safe and holds no secrets.

    ``idempotency_key`` is the merchant-side refund number the gateway holds for it, where the answer
    names one (Stripe metadata, Alipay out_request_no, WeChat out_refund_no): None for a refund made in
    the gateway's dashboard, and where the answer does not say."""

    status: RefundStatus
    gateway_ref: str | None
    amount: Money
    raw: dict[str, Any] = field(default_factory=dict)
    failure_reason: str | None = None
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if not isinstance(self.amount, Money):
            raise TypeError("amount must be Money")

    @property
    def final(self) -> bool:
        """Succeeded or failed. (Succeeded can still turn into failed later: see the module docstring.)"""
        return self.status in (SUCCEEDED, FAILED)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One refund-related fact from a verified webhook.

    ``event_id`` is unique per delivery subject (Stripe event id, Alipay notify_id, WeChat notification
    id): store it to refuse replays. ``idempotency_key`` is the merchant-side refund number the gateway
    reports (our key when we made the refund; for Stripe ``None`` when the refund carries no
    ``refunddesk_refund_id`` metadata, i.e. it was made in the dashboard; for Alipay/WeChat a refund made
    in the merchant console carries a number we never issued). ``amount`` is this refund's amount, or
    ``None`` when the gateway only reports a cumulative figure (Alipay: see ``raw['refund_fee']``; the
    webhook handler then asks the gateway for that refund with ``fetch``).
    ``charge_ref`` is the gateway's main reference of the charge (Stripe: the Charge ``ch_...``;
    Alipay/WeChat: per the adapter's ``charge_ref_field``); ``charge_refs`` holds every reference of the
    same charge the gateway gave, ``charge_ref`` first (Stripe: also the PaymentIntent ``pi_...``;
    Alipay/WeChat: both numbers, bare and ``field:``-prefixed): match orders against all of them.
    """

    kind: str
    event_id: str
    gateway: str
    gateway_ref: str | None
    idempotency_key: str | None
    charge_ref: str | None
    amount: Money | None
    occurred_at: datetime
    raw: dict[str, Any] = field(default_factory=dict)
    failure_reason: str | None = None
    charge_refs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        refs = tuple(dict.fromkeys(r for r in (self.charge_ref, *self.charge_refs) if r))
        object.__setattr__(self, "charge_refs", refs)
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"kind must be one of {EVENT_KINDS}, got {self.kind!r}")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")

    @property
    def status(self) -> RefundStatus | None:
        """pending/succeeded/failed/abnormal for refund.* kinds; None for charge summaries."""
        for status, kind in KIND_FOR_STATUS.items():
            if kind == self.kind:
                return status  # type: ignore[return-value]
        return None


@runtime_checkable
class Gateway(Protocol):
    """What every adapter (sandbox, manual, stripe, alipay, wechat_pay) provides."""

    id: str
    supports_webhooks: bool

    def refund(self, cmd: RefundCommand) -> GatewayResult:
        """Send the refund. Raises Retryable / Declined / Ambiguous / GatewayConfigError."""
        ...

    def fetch(self, query: RefundQuery) -> GatewayResult | None:
        """What became of the refund with ``query.idempotency_key``; None = never seen, safe to send."""
        ...

    def list_refunds(self, charge_ref: str, currency: str) -> list[GatewayResult] | None:
        """Every refund on the charge, as the gateway holds them now; None when it cannot list them."""
        ...

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime | None = None
    ) -> list[WebhookEvent]:
        """Verify first (WebhookRejected), then return the refund events in the body."""
        ...


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Case-insensitive header access; also accepts WSGI ``HTTP_FOO_BAR`` keys."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        name = str(key).lower()
        if name.startswith("http_"):
            name = name[5:].replace("_", "-")
        out[name] = value if isinstance(value, str) else str(value)
    return out

"""Stripe, through the official ``stripe`` SDK (``StripeClient``, Refunds API).

* Amounts: Stripe's ``amount`` is in *Stripe's* unit of the currency, which is not always the ISO 4217 /
  CLDR minor unit that ``Money`` counts: ISK and UGX are two-decimal in Stripe's API although they have no
  minor unit (docs.stripe.com/currencies#special-cases: "to charge 5 ISK, provide an amount value of
  500"), and so are AFN, ALL, LAK, LBP, MMK, RSD, SOS, STD and YER, which CLDR counts without decimals.
  Three-decimal currencies (BHD, JOD, KWD, OMR, TND) must end in 0. ``to_stripe_amount`` and
  ``from_stripe_amount`` are the one place where amounts cross, in both directions; every currency in
  ``STRIPE_CURRENCIES`` is walked by the tests.
* ``refund``: ``POST /v1/refunds`` with ``payment_intent`` (``pi_...``) or ``charge`` (``ch_``/``py_``),
  ``amount`` in Stripe's unit (above) and ``metadata[refunddesk_refund_id]``, sent with
  ``Idempotency-Key: <our key>``. ``max_network_retries=0``: the SDK never retries behind our back.
* ``fetch``: retrieve by refund id when known, else list the charge's refunds and find the one whose
  metadata holds our key. Never creates anything.
* Errors: connect failures, 429, 409 and 5xx other than 500 -> ``Retryable`` (the idempotency key makes
  a resend safe); read timeout / connection dropped after sending, HTTP 500 (Stripe: "treat as
  indeterminate", and its idempotency layer would replay it) and ``idempotency_error`` -> ``Ambiguous``;
  ``invalid_request_error`` / ``card_error`` (``charge_already_refunded``, ``amount_too_large``,
  ``charge_expired_for_refund``...) -> ``Declined``; 401/403 -> ``GatewayConfigError``. The
  ``Stripe-Should-Retry`` header, when present, decides 5xx.
* Webhooks: ``Stripe-Signature`` checked with ``stripe.WebhookSignature.verify_header`` against the
  webhook secret(s), then the signed timestamp must be within ``webhook_tolerance`` (300 s) of ``now``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
import stripe as stripe_sdk

from refunddesk.core.errors import ValidationError
from refunddesk.core.money import Money, exponent

from . import _http
from .base import (
    CHARGE_REFUNDED,
    FAILED,
    KIND_FOR_STATUS,
    PENDING,
    SUCCEEDED,
    GatewayResult,
    RefundCommand,
    RefundQuery,
    WebhookEvent,
    lower_headers,
)
from .errors import (
    Ambiguous,
    Declined,
    GatewayConfigError,
    GatewayError,
    Retryable,
    WebhookRejected,
    for_fetch,
)

METADATA_KEY = "refunddesk_refund_id"
REASON_KEY = "refunddesk_reason"
REFUND_EVENT_TYPES = frozenset({"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"})

_STATUS = {
    "succeeded": SUCCEEDED,
    "pending": PENDING,
    "requires_action": PENDING,
    "failed": FAILED,
    "canceled": FAILED,
}


#: Stripe's presentment currencies (docs.stripe.com/currencies, "Supported presentment currencies").
STRIPE_CURRENCIES: frozenset[str] = frozenset(
    "USD AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BWP BYN BZD CAD "
    "CDF CHF CLP CNY COP CRC CVE CZK DJF DKK DOP DZD EGP ETB EUR FJD FKP GBP GEL GIP GMD GNF GTQ GYD HKD HNL "
    "HTG HUF IDR ILS INR ISK JMD JOD JPY KES KGS KHR KMF KRW KWD KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD "
    "MMK MNT MOP MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD "
    "RUB RWF SAR SBD SCR SEK SGD SHP SLE SOS SRD STD SZL THB TJS TND TOP TRY TTD TWD TZS UAH UGX UYU UZS VND "
    "VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW".split()
)
#: "For zero-decimal currencies, the charge and the amount are the same" (docs.stripe.com/currencies#zero-decimal).
STRIPE_ZERO_DECIMAL: frozenset[str] = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF VND VUV XAF XOF XPF".split())
#: Three-decimal currencies: "the least-significant (last) digit must be 0" (docs.stripe.com/currencies#three-decimal).
STRIPE_THREE_DECIMAL: frozenset[str] = frozenset("BHD JOD KWD OMR TND".split())


class StripeAmountError(ValueError):
    """An amount that cannot cross between ``Money`` and Stripe's unit exactly (or an unsupported currency)."""


def stripe_exponent(currency: str) -> int:
    """Decimal places of Stripe's ``amount`` unit for ``currency`` (ISO code, any case): 0, 2 or 3.

    Raises StripeAmountError for a currency Stripe does not accept."""
    code = str(currency).upper()
    if code not in STRIPE_CURRENCIES:
        raise StripeAmountError(f"Stripe does not accept {code}")
    return 0 if code in STRIPE_ZERO_DECIMAL else 3 if code in STRIPE_THREE_DECIMAL else 2


def to_stripe_amount(money: Money) -> int:
    """``Money`` (minor units of the CLDR exponent) -> Stripe's integer ``amount`` for ``money.currency``.

    500 ISK -> 50000; 19.99 USD -> 1999; 500 JPY -> 500; 1.230 KWD -> 1230. Raises StripeAmountError when
    the currency is not accepted by Stripe or the amount has no exact Stripe form (1.234 KWD: Stripe wants
    the last digit 0)."""
    shift = stripe_exponent(money.currency) - exponent(money.currency)
    if shift >= 0:
        amount = money.minor * 10**shift
    else:
        amount, left = divmod(money.minor, 10**-shift)
        if left:
            raise StripeAmountError(f"{money} has more decimals than Stripe accepts for {money.currency}")
    if money.currency in STRIPE_THREE_DECIMAL and amount % 10:
        raise StripeAmountError(
            f"Stripe accepts {money.currency} amounts only in steps of 0.010 (the last digit must be 0); {money} is not"
        )
    return amount


def from_stripe_amount(amount: int, currency: str) -> Money:
    """Stripe's integer ``amount`` in ``currency`` (any case, as Stripe sends it lower-case) -> ``Money``.

    The inverse of ``to_stripe_amount``: 50000 ISK -> Money(500, "ISK"). Raises StripeAmountError for an
    unknown currency or an amount with a fraction ``Money`` cannot hold (Stripe reporting 50050 ISK)."""
    code = str(currency).upper()
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise StripeAmountError(f"Stripe amount {amount!r} is not an integer")
    try:
        shift = stripe_exponent(code) - exponent(code)
    except ValidationError as exc:
        raise StripeAmountError(str(exc.message)) from None
    if shift <= 0:
        return Money(amount * 10**-shift, code)
    minor, left = divmod(amount, 10**shift)
    if left:
        raise StripeAmountError(f"Stripe reports {amount} {code} (its unit), which is not a whole {code} amount")
    return Money(minor, code)


def charge_param(charge_ref: str) -> str:
    """Which refund parameter a Stripe reference goes in: PaymentIntent or Charge."""
    return "payment_intent" if charge_ref.startswith("pi_") else "charge"


class StripeGateway:
    def __init__(
        self,
        *,
        id: str = "stripe",
        api_key: str | None = None,
        webhook_secret: str | Iterable[str] | None = None,
        api_base: str | None = None,
        timeout: float = 30.0,
        webhook_tolerance: int = 300,
        stripe_account: str | None = None,
        client: stripe_sdk.StripeClient | None = None,
        http_session: requests.Session | None = None,
    ) -> None:
        self.id = id
        if client is None:
            if not api_key:
                raise GatewayConfigError("stripe needs an api_key (sk_live_... or rk_live_...)", gateway=id)
            client = stripe_sdk.StripeClient(
                api_key,
                stripe_account=stripe_account,
                base_addresses={"api": api_base.rstrip("/")} if api_base else None,
                max_network_retries=0,
                http_client=stripe_sdk.RequestsClient(timeout=timeout, session=http_session),
            )
        self.client = client
        if isinstance(webhook_secret, str):
            secrets = [webhook_secret]
        else:
            secrets = list(webhook_secret or ())
        self.webhook_secrets = [s for s in secrets if s and s.strip()]
        self.webhook_tolerance = int(webhook_tolerance)

    @property
    def supports_webhooks(self) -> bool:
        return bool(self.webhook_secrets)

    # --- refund ---------------------------------------------------------------
    def refund(self, cmd: RefundCommand) -> GatewayResult:
        metadata = {METADATA_KEY: cmd.idempotency_key}
        if cmd.reason:
            metadata[REASON_KEY] = cmd.reason[:500]
        try:
            amount = to_stripe_amount(cmd.amount)
        except StripeAmountError as exc:
            raise Declined(str(exc), gateway=self.id, gateway_code="amount_not_representable") from None
        params: dict[str, Any] = {
            charge_param(cmd.charge_ref): cmd.charge_ref,
            "amount": amount,
            "metadata": metadata,
        }
        try:
            refund = self.client.v1.refunds.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": cmd.idempotency_key},
            )
        except stripe_sdk.StripeError as exc:
            raise self._translate(exc, creating=True) from exc
        return self._result(refund)

    # --- fetch ------------------------------------------------------------------
    def fetch(self, query: RefundQuery) -> GatewayResult | None:
        try:
            return self._fetch(query)
        except (Declined, Ambiguous) as exc:
            raise for_fetch(exc) from exc

    def _fetch(self, query: RefundQuery) -> GatewayResult | None:
        try:
            if query.gateway_ref:
                try:
                    refund = self.client.v1.refunds.retrieve(query.gateway_ref)
                except stripe_sdk.InvalidRequestError as exc:
                    if not (exc.http_status == 404 or exc.code == "resource_missing"):
                        raise
                else:
                    owner = (_as_dict(refund).get("metadata") or {}).get(METADATA_KEY)
                    if owner in (None, query.idempotency_key):
                        return self._result(refund)
                # unknown id, or a refund of another key: look for ours on the charge instead
            listing = self.client.v1.refunds.list(
                params={charge_param(query.charge_ref): query.charge_ref, "limit": 100}  # type: ignore[arg-type]
            )
            for refund in listing.auto_paging_iter():
                if (_as_dict(refund).get("metadata") or {}).get(METADATA_KEY) == query.idempotency_key:
                    return self._result(refund)
            return None
        except stripe_sdk.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                return None  # no such charge: it certainly holds no refund of ours
            raise self._translate(exc, creating=False) from exc
        except stripe_sdk.StripeError as exc:
            raise self._translate(exc, creating=False) from exc

    # --- listing ------------------------------------------------------------------
    def list_refunds(self, charge_ref: str, currency: str) -> list[GatewayResult]:
        """Every refund on the charge (``GET /v1/refunds?charge=`` or ``payment_intent=``, all pages),
        newest first, with its status now and the refunddesk key its metadata carries (None: made in the
        Dashboard). Raises Retryable / GatewayConfigError."""
        try:
            listing = self.client.v1.refunds.list(
                params={charge_param(charge_ref): charge_ref, "limit": 100}  # type: ignore[arg-type]
            )
            return [self._result(refund) for refund in listing.auto_paging_iter()]
        except stripe_sdk.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                return []
            raise for_fetch(self._translate(exc, creating=False)) from exc
        except stripe_sdk.StripeError as exc:
            raise for_fetch(self._translate(exc, creating=False)) from exc
        except Ambiguous as exc:  # an unreadable refund in the list
            raise for_fetch(exc) from exc

    # --- webhooks -----------------------------------------------------------------
    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime | None = None
    ) -> list[WebhookEvent]:
        if not self.webhook_secrets:
            raise GatewayConfigError("stripe webhook_secret (whsec_...) is not configured", gateway=self.id)
        header = lower_headers(headers).get("stripe-signature", "")
        if not header:
            raise WebhookRejected("no Stripe-Signature header", gateway=self.id)
        verified = False
        for secret in self.webhook_secrets:
            try:
                # tolerance=None: the SDK would compare with its own clock; we compare with `now` below.
                stripe_sdk.WebhookSignature.verify_header(body, header, secret, tolerance=None)
            except (stripe_sdk.SignatureVerificationError, UnicodeDecodeError, ValueError):
                continue
            verified = True
            break
        if not verified:
            raise WebhookRejected("Stripe-Signature does not match the payload", gateway=self.id)
        timestamp = _signed_timestamp(header)
        now_ts = (now or datetime.now(UTC)).timestamp()
        if timestamp is None or abs(now_ts - timestamp) > self.webhook_tolerance:
            raise WebhookRejected(
                f"Stripe-Signature timestamp is more than {self.webhook_tolerance}s from now (replay?)",
                gateway=self.id,
            )
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("signed body is not JSON", gateway=self.id) from None
        if not isinstance(event, dict) or event.get("object") != "event":
            raise WebhookRejected("signed body is not a Stripe event", gateway=self.id)
        return self._events(event)

    def _events(self, event: dict[str, Any]) -> list[WebhookEvent]:
        event_type = event.get("type", "")
        obj = (event.get("data") or {}).get("object") or {}
        occurred_at = datetime.fromtimestamp(int(event.get("created") or 0), UTC)
        event_id = str(event.get("id") or "")
        if event_type in REFUND_EVENT_TYPES and obj.get("object") == "refund":
            return [self._refund_event(obj, event_id, occurred_at, event)]
        if event_type == "charge.refunded" and obj.get("object") == "charge":
            events = [
                WebhookEvent(
                    kind=CHARGE_REFUNDED,
                    event_id=event_id,
                    gateway=self.id,
                    gateway_ref=None,
                    idempotency_key=None,
                    charge_ref=obj.get("id"),
                    amount=_money(obj.get("amount_refunded"), obj.get("currency")),
                    occurred_at=occurred_at,
                    raw=event,
                    charge_refs=tuple(r for r in (obj.get("id"), obj.get("payment_intent")) if r),
                )
            ]
            # Older API versions embed the charge's refunds: report each one as well.
            for refund in (obj.get("refunds") or {}).get("data") or []:
                if isinstance(refund, dict) and refund.get("object") == "refund":
                    events.append(self._refund_event(refund, f"{event_id}:{refund.get('id')}", occurred_at, event))
            return events
        return []

    def _refund_event(
        self, refund: dict[str, Any], event_id: str, occurred_at: datetime, event: dict[str, Any]
    ) -> WebhookEvent:
        status = _STATUS.get(str(refund.get("status")), PENDING)
        return WebhookEvent(
            kind=KIND_FOR_STATUS[status],
            event_id=event_id,
            gateway=self.id,
            gateway_ref=refund.get("id"),
            idempotency_key=(refund.get("metadata") or {}).get(METADATA_KEY),
            charge_ref=refund.get("charge") or refund.get("payment_intent"),
            amount=_money(refund.get("amount"), refund.get("currency")),
            occurred_at=occurred_at,
            raw=event,
            failure_reason=refund.get("failure_reason") if status == FAILED else None,
            charge_refs=tuple(r for r in (refund.get("charge"), refund.get("payment_intent")) if r),
        )

    # --- helpers --------------------------------------------------------------------
    def _result(self, refund: Any) -> GatewayResult:
        data = _as_dict(refund)
        status = _STATUS.get(str(data.get("status")))
        if status is None:
            raise Ambiguous(f"unknown Stripe refund status {data.get('status')!r}", gateway=self.id, raw=data)
        amount = _money(data.get("amount"), data.get("currency"))
        if amount is None:
            raise Ambiguous("Stripe refund without a readable amount/currency", gateway=self.id, raw=data)
        return GatewayResult(
            status=status,
            gateway_ref=data.get("id"),
            amount=amount,
            raw=data,
            failure_reason=(data.get("failure_reason") or "failed") if status == FAILED else None,
            idempotency_key=(data.get("metadata") or {}).get(METADATA_KEY),
        )

    def _translate(self, exc: stripe_sdk.StripeError, *, creating: bool) -> GatewayError:
        """Map an SDK error onto Retryable / Declined / Ambiguous / GatewayConfigError.

        ``creating``: the request was a refund creation (an unknown outcome is Ambiguous); reads are
        always safe to repeat, so their unknown outcomes are Retryable.
        """
        unknown = Ambiguous if creating else Retryable
        body = exc.json_body if isinstance(exc.json_body, dict) else {}
        err = body.get("error") if isinstance(body.get("error"), dict) else {}
        message = err.get("message") or exc.user_message or str(exc)
        code = exc.code or err.get("code") or err.get("type")
        headers = {str(k).lower(): v for k, v in (exc.headers or {}).items()}
        kw: dict[str, Any] = {"gateway": self.id, "gateway_code": code, "raw": body}

        if isinstance(exc, stripe_sdk.APIConnectionError):
            if _http.never_sent(exc):
                return Retryable(f"could not reach Stripe ({_http.describe(exc)})", **kw)
            return unknown(f"no answer from Stripe after sending ({_http.describe(exc)})", **kw)
        if isinstance(exc, stripe_sdk.AuthenticationError | stripe_sdk.PermissionError):
            return GatewayConfigError(f"Stripe refused our credentials: {message}", **kw)
        if isinstance(exc, stripe_sdk.RateLimitError):
            return Retryable(f"Stripe rate limit: {message}", retry_after=_http.retry_after(headers), **kw)
        if isinstance(exc, stripe_sdk.IdempotencyError):
            return unknown(
                f"Stripe already holds a different request under this idempotency key: {message}", **kw
            )
        if isinstance(exc, stripe_sdk.InvalidRequestError | stripe_sdk.CardError):
            return Declined(message, **kw)
        status = exc.http_status or 0
        should_retry = headers.get("stripe-should-retry")
        if status == 409 or should_retry == "true":
            return Retryable(f"Stripe asks to retry (HTTP {status}): {message}", **kw)
        if status >= 500 and status != 500 and should_retry != "false":
            return Retryable(f"Stripe unavailable (HTTP {status}): {message}", **kw)
        return unknown(f"Stripe error, outcome unknown (HTTP {status}): {message}", **kw)


def _as_dict(obj: Any) -> dict[str, Any]:
    """StripeObjects are not dicts (since stripe 15); raw results must be plain JSON-safe dicts."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _money(amount: Any, currency: Any) -> Money | None:
    """A Stripe object's ``amount`` + ``currency`` as Money (through ``from_stripe_amount``); None if absent
    or not exact."""
    if amount is None or not currency:
        return None
    try:
        return from_stripe_amount(int(amount), str(currency))
    except (StripeAmountError, TypeError, ValueError):
        return None


def _signed_timestamp(header: str) -> int | None:
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None

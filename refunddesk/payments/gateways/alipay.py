"""Alipay (支付宝), through python-alipay-sdk (``alipay.AliPay``, RSA2).

The SDK builds and RSA2-signs the requests (``api_alipay_trade_refund``,
``api_alipay_trade_fastpay_refund_query``), verifies the RSA2 signature of every answer and of async
notifications (``AliPay.verify``). We subclass it for two things only: the gateway URL is a setting
(``gateway_url``, so tests point it at a fake on 127.0.0.1) and the transport is an injected
``requests`` session with a timeout, POSTing the signed form (the SDK's own ``urlopen`` GET cannot
tell "never connected" from "sent, then no answer"). The ``timestamp`` is sent in China time
(GMT+8), which Alipay expects, rather than the server's local time.

* ``refund``: ``alipay.trade.refund`` with ``out_trade_no`` (or ``trade_no``), ``refund_amount`` as a
  decimal string and ``out_request_no`` = our idempotency key. ``code 10000`` + ``fund_change Y`` ->
  succeeded. ``fund_change N`` means no money moved *by this call* (usually: a repeat of an
  out_request_no already refunded): we ask ``fastpay.refund.query`` and answer succeeded if Alipay holds
  this refund with this amount, pending otherwise.
* ``ACQ.SYSTEM_ERROR`` / ``isp.unknow-error`` / HTTP 5xx / connect failures -> ``Retryable`` (Alipay:
  retry with the same out_request_no); ``ACQ.SELLER_BALANCE_NOT_ENOUGH``, ``ACQ.TRADE_HAS_FINISHED``,
  ``ACQ.REFUND_AMT_NOT_EQUAL_TOTAL``... -> ``Declined``; ``ACQ.DISCORDANT_REPEAT_REQUEST`` (the key is
  taken by other parameters), read timeouts, dropped connections and unreadable/unsigned success
  answers -> ``Ambiguous``; bad signature / app id / permissions -> ``GatewayConfigError``.
* ``fetch``: ``alipay.trade.fastpay.refund.query`` by out_request_no. ``REFUND_SUCCESS`` -> succeeded;
  no status means Alipay has not got (or failed) the refund, and tells merchants to send it again
  with the same out_request_no: ``None``.
* Notifications: the form-encoded async notification is verified (RSA2, Alipay public key, and our
  app_id) before anything in it is used. A refund shows up as ``refund_fee`` + ``out_biz_no`` (the
  out_request_no) + ``gmt_refund``; ``refund_fee`` is the *total* refunded on the trade, so the
  event's ``amount`` is None. Freshness: the signed ``notify_time`` (when Alipay sent it, China time)
  must be no older than ``webhook_tolerance`` (25 hours by default: Alipay re-sends an unanswered
  notification for about 25 hours, at 4m, 10m, 10m, 1h, 2h, 6h, 15h) and no more than 5 minutes in the
  future; within that window a replay is refused by its ``notify_id`` (the receipt).

``charge_ref`` is the merchant's ``out_trade_no`` by default (``charge_ref_field``); prefix it
``trade_no:`` to give Alipay's trade number instead.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import requests
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from Cryptodome.PublicKey import RSA

from refunddesk.core.money import Money

from . import _http
from .base import (
    PENDING,
    REFUND_SUCCEEDED,
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

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
FUTURE_SKEW = 300  # seconds a notification may be dated ahead of our clock
PRODUCTION_URL = "https://openapi.alipay.com/gateway.do"
SANDBOX_URL = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"

RETRYABLE_SUB_CODES = frozenset(
    {"ACQ.SYSTEM_ERROR", "isp.unknow-error", "aop.unknow-error", "isp.unknown-error", "ACQ.REQUEST_TOO_FREQUENT"}
)
CONFIG_SUB_CODES = frozenset(
    {"isv.invalid-signature", "isv.invalid-app-id", "isv.invalid-sign-type", "isv.invalid-timestamp"}
)
CONFIG_CODES = frozenset({"20001", "40006"})


def to_alipay_amount(money: Money) -> str:
    """Money -> Alipay's ``refund_amount``: a decimal string in yuan with the currency's decimals
    ("单位为元,精确到小数点后两位": 12.30). The one place amounts go out."""
    return str(money.amount)


def from_alipay_amount(value: Any, currency: str) -> Money:
    """Alipay's decimal yuan string -> Money, exactly (raises ValidationError for more decimals than the
    currency has or a value that is not a number). The one place amounts come in."""
    return Money.from_decimal(value, currency)


class _Unsigned(Exception):
    """Alipay answered without a signature (gateway-level errors do): trust it only as an error."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__("unsigned answer")
        self.payload = payload


class _HTTPStatus(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.text = text


class _Unreadable(Exception):
    pass


class AliPayClient(AliPay):
    """python-alipay-sdk's AliPay with a configurable gateway URL and an injected requests transport."""

    def __init__(self, *, gateway_url: str, session: Any, timeout: _http.Timeout, **kwargs: Any) -> None:
        super().__init__(config=AliPayConfig(timeout=timeout), **kwargs)
        self._gateway = gateway_url
        self._session = session
        self._timeout = timeout

    def build_body(self, method: str, biz_content: Any = None, **kwargs: Any) -> dict[str, Any]:
        data = super().build_body(method, biz_content, **kwargs)
        data["timestamp"] = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")
        return data

    def verified_sync_response(self, data: dict[str, Any], response_type: str) -> dict[str, Any]:
        body = self.sign_data(data)
        response = self._session.request(
            "POST",
            self._gateway,
            data=body.encode("utf-8"),
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            timeout=self._timeout,
        )
        text = response.content.decode("utf-8", errors="replace")
        if response.status_code != 200:
            raise _HTTPStatus(response.status_code, text[:500])
        try:
            parsed = json.loads(text)
        except ValueError:
            raise _Unreadable(text[:200]) from None
        if not isinstance(parsed, dict):
            raise _Unreadable(text[:200])
        if "sign" not in parsed or "error_response" in parsed:
            payload = parsed.get(response_type) or parsed.get("error_response") or {}
            raise _Unsigned(payload if isinstance(payload, dict) else {})
        return self._verify_and_return_sync_response(text, response_type)


def _pem(text: str, *, gateway: str, what: str) -> str:
    """Accept PEM, or the bare base64 that Alipay's key tool prints (PKCS#1/PKCS#8/SPKI DER)."""
    if not text or not text.strip():
        raise GatewayConfigError(f"alipay {what} is missing", gateway=gateway)
    text = text.strip()
    try:
        key = RSA.import_key(text if "-----BEGIN" in text else base64.b64decode("".join(text.split())))
    except (ValueError, IndexError, TypeError):
        raise GatewayConfigError(f"alipay {what} is not an RSA key (PEM or base64)", gateway=gateway) from None
    return key.export_key("PEM").decode()


class AlipayGateway:
    supports_webhooks = True

    def __init__(
        self,
        *,
        id: str = "alipay",
        app_id: str | None = None,
        app_private_key: str | None = None,
        alipay_public_key: str | None = None,
        gateway_url: str | None = None,
        sandbox: bool = False,
        timeout: _http.Timeout = 15.0,
        currency: str = "CNY",
        charge_ref_field: str = "out_trade_no",
        webhook_tolerance: int = 25 * 3600,
        http_session: requests.Session | None = None,
        client: AliPay | None = None,
    ) -> None:
        self.id = id
        self.webhook_tolerance = int(webhook_tolerance)
        if not app_id:
            raise GatewayConfigError("alipay needs app_id (the APPID of the merchant application)", gateway=id)
        if charge_ref_field not in ("out_trade_no", "trade_no"):
            raise GatewayConfigError("alipay charge_ref_field is out_trade_no or trade_no", gateway=id)
        self.app_id = str(app_id)
        self.currency = currency
        self.charge_ref_field = charge_ref_field
        if client is None:
            try:
                client = AliPayClient(
                    appid=self.app_id,
                    app_private_key_string=_pem(app_private_key or "", gateway=id, what="app_private_key"),
                    alipay_public_key_string=_pem(alipay_public_key or "", gateway=id, what="alipay_public_key"),
                    sign_type="RSA2",
                    gateway_url=gateway_url or (SANDBOX_URL if sandbox else PRODUCTION_URL),
                    session=_http.session_from(http_session),
                    timeout=timeout,
                )
            except (ValueError, AliPayException) as exc:
                raise GatewayConfigError(f"alipay keys: {exc}", gateway=id) from None
        self.client = client

    # --- refund ------------------------------------------------------------------
    def refund(self, cmd: RefundCommand) -> GatewayResult:
        self._check_currency(cmd.amount)
        field, ref = self._trade(cmd.charge_ref)
        extra: dict[str, Any] = {"out_request_no": cmd.idempotency_key}
        if cmd.reason:
            extra["refund_reason"] = cmd.reason[:256]
        try:
            answer = self.client.api_alipay_trade_refund(to_alipay_amount(cmd.amount), **{field: ref}, **extra)
        except Exception as exc:
            raise self._translate(exc, creating=True) from exc
        if answer.get("code") != "10000":
            raise self._business_error(answer, creating=True)
        gateway_ref = self._gateway_ref(answer.get("trade_no") or ref, cmd.idempotency_key)
        if answer.get("fund_change") == "Y":
            return GatewayResult(status=SUCCEEDED, gateway_ref=gateway_ref, amount=cmd.amount, raw=answer)
        # fund_change N: nothing moved by this call. A repeat of a refund already made, or one not
        # (yet) made: the refund query says which.
        try:
            found = self.fetch(cmd.query(gateway_ref))
        except GatewayError:
            found = None
        if found is not None:
            return found
        return GatewayResult(
            status=PENDING, gateway_ref=gateway_ref, amount=cmd.amount, raw={**answer, "confirmed": False}
        )

    # --- fetch --------------------------------------------------------------------
    def fetch(self, query: RefundQuery) -> GatewayResult | None:
        try:
            return self._fetch(query)
        except (Declined, Ambiguous) as exc:
            raise for_fetch(exc) from exc

    def _fetch(self, query: RefundQuery) -> GatewayResult | None:
        self._check_currency(query.amount)
        field, ref = self._trade(query.charge_ref)
        try:
            answer = self.client.api_alipay_trade_fastpay_refund_query(query.idempotency_key, **{field: ref})
        except Exception as exc:
            raise self._translate(exc, creating=False) from exc
        if answer.get("code") != "10000":
            if answer.get("sub_code") in ("ACQ.TRADE_NOT_EXIST", "TRADE_NOT_EXIST"):
                return None
            raise self._business_error(answer, creating=False)
        if answer.get("refund_status") != "REFUND_SUCCESS":
            return None  # not received, or failed: Alipay says send it again with the same out_request_no
        try:
            amount = from_alipay_amount(answer.get("refund_amount"), query.amount.currency)
        except Exception:
            raise Retryable(f"alipay refund query answered an unreadable amount: {answer!r}"[:300], gateway=self.id)
        if answer.get("out_request_no") not in (None, query.idempotency_key):
            raise Retryable("alipay refund query answered about another refund", gateway=self.id, raw=answer)
        return GatewayResult(
            status=SUCCEEDED,
            gateway_ref=self._gateway_ref(answer.get("trade_no") or ref, query.idempotency_key),
            amount=amount,
            raw=answer,
            idempotency_key=query.idempotency_key,
        )

    def list_refunds(self, charge_ref: str, currency: str) -> None:
        """Alipay has no API listing a trade's refunds (only ``fastpay.refund.query`` by out_request_no):
        reconciliation asks about each of our refunds with ``fetch``; refunds made in the merchant console
        arrive as notifications."""
        return None

    # --- notifications --------------------------------------------------------------
    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime | None = None
    ) -> list[WebhookEvent]:
        content_type = lower_headers(headers).get("content-type", "")
        if content_type and "application/x-www-form-urlencoded" not in content_type:
            raise WebhookRejected(f"alipay notifications are form-encoded, got {content_type}", gateway=self.id)
        try:
            text = body.decode("ascii")
            first = dict(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict"))
            charset = (first.get("charset") or "utf-8").lower()
            params = dict(parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict"))
        except (UnicodeDecodeError, LookupError, ValueError):
            raise WebhookRejected("alipay notification body is not a form", gateway=self.id) from None
        signature = params.pop("sign", "")
        if not signature:
            raise WebhookRejected("alipay notification has no sign", gateway=self.id)
        if params.get("sign_type", "RSA2") != "RSA2":
            raise WebhookRejected(f"alipay sign_type {params.get('sign_type')} is not RSA2", gateway=self.id)
        try:
            verified = self.client.verify(dict(params), signature)
        except Exception:
            verified = False
        if not verified:
            raise WebhookRejected("alipay notification signature does not verify", gateway=self.id)
        if params.get("app_id") != self.app_id:
            raise WebhookRejected(f"alipay notification is for app {params.get('app_id')}", gateway=self.id)
        sent_at = _china_time(params.get("notify_time"))
        if sent_at is None:
            raise WebhookRejected("alipay notification has no readable notify_time", gateway=self.id)
        age = ((now or datetime.now(UTC)) - sent_at).total_seconds()
        if age > self.webhook_tolerance or age < -FUTURE_SKEW:
            raise WebhookRejected(
                f"alipay notification sent at {params.get('notify_time')} (China time) is outside the accepted "
                f"window ({self.webhook_tolerance // 3600} hours back, {FUTURE_SKEW // 60} minutes ahead): a replay?",
                gateway=self.id,
            )

        params.pop("sign_type", None)
        out_biz_no = params.get("out_biz_no")
        if not (params.get("refund_fee") and out_biz_no):
            return []  # a verified notification about a payment or a closed trade: no refund in it
        trade_no = params.get("trade_no") or ""
        charge_ref = params.get("trade_no") if self.charge_ref_field == "trade_no" else params.get("out_trade_no")
        occurred_at = (
            _china_time(params.get("gmt_refund"))
            or _china_time(params.get("notify_time"))
            or now
            or datetime.now(UTC)
        )
        return [
            WebhookEvent(
                kind=REFUND_SUCCEEDED,
                event_id=params.get("notify_id") or f"{trade_no}:{out_biz_no}",
                gateway=self.id,
                gateway_ref=self._gateway_ref(trade_no, out_biz_no),
                idempotency_key=out_biz_no,
                charge_ref=charge_ref,
                amount=None,
                occurred_at=occurred_at,
                raw=params,
                charge_refs=_refs(params, ("out_trade_no", "trade_no")),
            )
        ]

    # --- helpers --------------------------------------------------------------------------
    def _check_currency(self, amount: Money) -> None:
        if amount.currency != self.currency:
            raise Declined(
                f"this Alipay account refunds in {self.currency}; the order is in {amount.currency}",
                gateway=self.id,
                gateway_code="currency_not_supported",
            )

    def _trade(self, charge_ref: str) -> tuple[str, str]:
        for field in ("trade_no", "out_trade_no"):
            if charge_ref.startswith(field + ":"):
                return field, charge_ref[len(field) + 1 :]
        return self.charge_ref_field, charge_ref

    @staticmethod
    def _gateway_ref(trade_no: str, out_request_no: str) -> str:
        return f"{trade_no}:{out_request_no}"

    def _business_error(self, answer: Mapping[str, Any], *, creating: bool) -> GatewayError:
        code = str(answer.get("code") or "")
        sub_code = str(answer.get("sub_code") or "")
        text = answer.get("sub_msg") or answer.get("msg") or "Alipay refused"
        kw: dict[str, Any] = {"gateway": self.id, "gateway_code": sub_code or code, "raw": dict(answer)}
        if sub_code in RETRYABLE_SUB_CODES or code == "20000":
            return Retryable(f"Alipay is busy: {text}", **kw)
        if sub_code in CONFIG_SUB_CODES or code in CONFIG_CODES:
            return GatewayConfigError(f"Alipay refused our credentials or settings: {text}", **kw)
        if sub_code == "ACQ.DISCORDANT_REPEAT_REQUEST":
            return (Ambiguous if creating else Retryable)(
                f"out_request_no already holds a refund with other parameters: {text}", **kw
            )
        if code in ("40001", "40002", "40004"):
            return Declined(str(text), **kw)
        return (Ambiguous if creating else Retryable)(f"unexpected Alipay answer {code}: {text}", **kw)

    def _translate(self, exc: Exception, *, creating: bool) -> GatewayError:
        unknown = Ambiguous if creating else Retryable
        if isinstance(exc, GatewayError):
            return exc
        if isinstance(exc, _Unsigned):
            if exc.payload.get("code") == "10000":
                return unknown("Alipay answered success without a signature", gateway=self.id, raw=exc.payload)
            return self._business_error(exc.payload, creating=creating)
        if isinstance(exc, _HTTPStatus):
            if exc.status >= 500 or exc.status == 429:
                return Retryable(f"Alipay HTTP {exc.status}", gateway=self.id, gateway_code=str(exc.status))
            return unknown(f"Alipay HTTP {exc.status}: {exc.text[:200]}", gateway=self.id)
        if isinstance(exc, AliPayValidationError):
            return unknown("Alipay's answer failed signature verification", gateway=self.id, gateway_code="bad_sign")
        if isinstance(exc, _Unreadable):
            return unknown(f"Alipay's answer is unreadable: {exc}", gateway=self.id)
        if isinstance(exc, requests.RequestException):
            if _http.never_sent(exc):
                return Retryable(f"could not reach Alipay ({_http.describe(exc)})", gateway=self.id)
            return unknown(f"no answer from Alipay after sending ({_http.describe(exc)})", gateway=self.id)
        if isinstance(exc, AliPayException | ValueError | KeyError):
            return unknown(f"Alipay SDK error: {exc}", gateway=self.id)
        raise exc


def _refs(data: Mapping[str, Any], fields: tuple[str, ...]) -> tuple[str, ...]:
    """Every way an order may hold this charge: the bare numbers, then the ``field:``-prefixed forms."""
    bare = [str(data[f]) for f in fields if data.get(f)]
    return tuple(bare + [f"{f}:{data[f]}" for f in fields if data.get(f)])


def _china_time(value: str | None) -> datetime | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=CHINA)
        except ValueError:
            continue
    return None

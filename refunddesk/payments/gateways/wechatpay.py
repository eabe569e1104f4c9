"""WeChat Pay (微信支付) API v3 domestic refunds.

Signing, verifying and decrypting use the ``wechatpayv3`` SDK's own primitives
(``wechatpayv3.utils.build_authorization`` / ``rsa_verify`` / ``aes_decrypt`` / ``load_private_key`` /
``load_public_key``). Its HTTP client class (``wechatpayv3.core.Core``) is *not* used: the base URL is a
private hard-coded attribute, it calls module-level ``requests.get/post`` (no injected session), it
raises bare ``Exception`` for signature and configuration problems (so they cannot be translated into
Retryable/Declined/Ambiguous), it downloads ``/v3/certificates`` when a response's serial is not the
configured public key id, and its callback check reads only three header spellings and never checks
the timestamp. The transport here is ~40 lines with an injected ``requests`` session instead; the
request body is serialised once and exactly those bytes are signed and sent.

* ``refund``: ``POST /v3/refund/domestic/refunds`` with ``out_trade_no`` (or ``transaction_id``),
  ``out_refund_no`` = our key, ``amount: {refund, total, currency}`` in fen, optional ``reason``
  and ``notify_url`` (HTTPS only; WeChat refuses http). Every request carries ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=...,
  nonce_str=..., signature=..., timestamp=..., serial_no=...``; every 2xx answer's
  ``Wechatpay-Signature`` is verified with the platform public key (or certificate) named by
  ``Wechatpay-Serial``. Status SUCCESS -> succeeded, PROCESSING -> pending, CLOSED -> failed, ABNORMAL ->
  abnormal (the bank refused it, e.g. a closed card: the merchant completes it in the merchant platform or
  with the abnormal-refund API, after which WeChat reports SUCCESS for the same out_refund_no).
* ``fetch``: ``GET /v3/refund/domestic/refunds/{out_refund_no}``; 404 RESOURCE_NOT_EXISTS -> None.
* Errors: connect failures, 429 FREQUENCY_LIMITED, 5xx SYSTEM_ERROR -> ``Retryable`` (WeChat: retry
  with the same out_refund_no); read timeout / dropped connection / a 2xx whose signature fails ->
  ``Ambiguous``; 401 SIGN_ERROR, 403 NO_AUTH -> ``GatewayConfigError``; other 4xx (NOT_ENOUGH,
  INVALID_REQUEST "订单已全额退款", RESOURCE_NOT_EXISTS...) -> ``Declined`` with WeChat's message — unless
  the refund query shows our out_refund_no already holds a refund (then that refund, or ``Ambiguous``
  if its amount differs).
* Notifications: ``Wechatpay-Signature`` over ``timestamp\\nnonce\\nbody\\n`` verified with the platform
  key named by ``Wechatpay-Serial`` (signature probes ``WECHATPAY/SIGNTEST/...`` fail, as they must),
  then the timestamp must be within ``webhook_tolerance`` (300 s) of ``now``, then ``resource`` is
  AES-256-GCM-decrypted with the APIv3 key. REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED.
* ``list_refunds``: None. API v3 has no listing of a transaction's refunds; reconciliation asks about
  each of our refunds with ``fetch``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from cryptography.x509 import load_pem_x509_certificate
from wechatpayv3.utils import aes_decrypt, build_authorization, load_private_key, load_public_key, rsa_verify

from refunddesk.core.money import Money

from . import _http
from .base import (
    ABNORMAL,
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

PRODUCTION_URL = "https://api.mch.weixin.qq.com"
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
REFUNDS_PATH = "/v3/refund/domestic/refunds"

_STATUS = {"SUCCESS": SUCCEEDED, "PROCESSING": PENDING, "CLOSED": FAILED, "ABNORMAL": ABNORMAL}
_EVENT_STATUS = {"REFUND.SUCCESS": SUCCEEDED, "REFUND.ABNORMAL": ABNORMAL, "REFUND.CLOSED": FAILED}
_FAILURE_TEXT = {
    "CLOSED": "WeChat Pay closed the refund",
    "ABNORMAL": "refund abnormal: the buyer's account or card cannot receive it (WeChat Pay: ABNORMAL)",
}


def to_wechat_amount(money: Money) -> int:
    """Money -> WeChat Pay's ``amount.refund`` / ``amount.total``: an integer of the currency's smallest
    unit ("币种的最小单位,只能为整数": fen for CNY), which is Money's minor unit. The one place amounts go
    out; ``from_wechat_amount`` is the one place they come in."""
    return money.minor


def from_wechat_amount(value: Any, currency: str) -> Money:
    """WeChat Pay's integer amount in the smallest unit of ``currency`` -> Money. Raises ValueError when it
    is not an integer (WeChat never sends fractions)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"WeChat Pay amount {value!r} is not an integer")
    return Money(int(value), str(currency))


class _BadSignature(Exception):
    pass


class _UnknownSerial(Exception):
    pass


class WeChatPayGateway:
    supports_webhooks = True

    def __init__(
        self,
        *,
        id: str = "wechat_pay",
        mchid: str | None = None,
        merchant_serial_no: str | None = None,
        merchant_private_key: str | None = None,
        apiv3_key: str | None = None,
        platform_public_key: str | None = None,
        platform_public_key_id: str | None = None,
        platform_certificates: Iterable[str] = (),
        api_base: str = PRODUCTION_URL,
        timeout: _http.Timeout = 15.0,
        currency: str = "CNY",
        charge_ref_field: str = "out_trade_no",
        notify_url: str | None = None,
        funds_account: str | None = None,
        webhook_tolerance: int = 300,
        http_session: requests.Session | None = None,
    ) -> None:
        self.id = id

        def bad(message: str) -> GatewayConfigError:
            return GatewayConfigError(f"wechat pay: {message}", gateway=id)

        if not mchid or not merchant_serial_no:
            raise bad("mchid and merchant_serial_no (the merchant API certificate serial) are required")
        if not apiv3_key or len(apiv3_key.encode()) != 32:
            raise bad("apiv3_key must be the 32-character APIv3 key")
        if charge_ref_field not in ("out_trade_no", "transaction_id"):
            raise bad("charge_ref_field is out_trade_no or transaction_id")
        try:
            self._private_key = load_private_key(merchant_private_key or "")
        except Exception:
            raise bad("merchant_private_key is not a PEM private key") from None
        if self._private_key is None:
            raise bad("merchant_private_key is required")
        self.platform_keys: dict[str, Any] = {}
        if platform_public_key or platform_public_key_id:
            if not (platform_public_key and platform_public_key_id):
                raise bad("platform_public_key and platform_public_key_id go together")
            try:
                self.platform_keys[platform_public_key_id] = load_public_key(platform_public_key)
            except Exception:
                raise bad("platform_public_key is not a PEM public key") from None
        for pem in platform_certificates:
            try:
                cert = load_pem_x509_certificate(pem.encode())
            except ValueError:
                raise bad("a platform certificate is not a PEM certificate") from None
            self.platform_keys[format(cert.serial_number, "X")] = cert.public_key()
        if not self.platform_keys:
            raise bad("give platform_public_key + platform_public_key_id (or platform_certificates)")
        self.mchid = str(mchid)
        self.merchant_serial_no = merchant_serial_no
        self.apiv3_key = apiv3_key
        self.platform_public_key_id = platform_public_key_id
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self.currency = currency
        self.charge_ref_field = charge_ref_field
        self.notify_url = notify_url
        self.funds_account = funds_account
        self.webhook_tolerance = int(webhook_tolerance)
        self.session = _http.session_from(http_session)

    # --- refund -------------------------------------------------------------------------
    def refund(self, cmd: RefundCommand) -> GatewayResult:
        self._check_currency(cmd.amount)
        field, ref = self._trade(cmd.charge_ref)
        payload: dict[str, Any] = {
            field: ref,
            "out_refund_no": cmd.idempotency_key,
            "amount": {
                "refund": to_wechat_amount(cmd.amount),
                "total": to_wechat_amount(cmd.order_total),
                "currency": cmd.amount.currency,
            },
        }
        if cmd.reason:
            payload["reason"] = cmd.reason[:80]
        notify_url = cmd.notify_url or self.notify_url
        if notify_url and notify_url.startswith("https://"):
            # WeChat Pay refuses the whole refund for a non-HTTPS notify_url; without one the refund
            # still settles (fetch polling, or the notify_url set in the merchant platform).
            payload["notify_url"] = notify_url
        if self.funds_account:
            payload["funds_account"] = self.funds_account
        try:
            status, data = self._call("POST", REFUNDS_PATH, payload)
        except Exception as exc:
            raise self._translate(exc, creating=True) from exc
        if status in (200, 201):
            return self._result(data)
        error = self._http_error(status, data, creating=True)
        if isinstance(error, Declined):
            # Did our out_refund_no already make a refund (a repeat with other parameters)?
            try:
                held = self.fetch(cmd.query())
            except GatewayError:
                held = None
            if held is not None:
                if held.amount == cmd.amount:
                    return held
                raise Ambiguous(
                    f"out_refund_no {cmd.idempotency_key} already holds a refund of {held.amount}: {error.reason}",
                    gateway=self.id,
                    gateway_code="idempotency_mismatch",
                    raw=held.raw,
                )
        raise error

    # --- fetch ----------------------------------------------------------------------------
    def fetch(self, query: RefundQuery) -> GatewayResult | None:
        try:
            return self._fetch(query)
        except (Declined, Ambiguous) as exc:
            raise for_fetch(exc) from exc

    def _fetch(self, query: RefundQuery) -> GatewayResult | None:
        path = f"{REFUNDS_PATH}/{quote(query.idempotency_key, safe='')}"
        try:
            status, data = self._call("GET", path, None)
        except Exception as exc:
            raise self._translate(exc, creating=False) from exc
        if status == 200:
            return self._result(data)
        if status == 404:
            return None
        raise self._http_error(status, data, creating=False)

    def list_refunds(self, charge_ref: str, currency: str) -> None:
        """API v3 lists no refunds by transaction: reconciliation uses ``fetch`` per refund."""
        return None

    # --- notifications -----------------------------------------------------------------------
    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime | None = None
    ) -> list[WebhookEvent]:
        h = lower_headers(headers)
        timestamp, nonce = h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", "")
        signature, serial = h.get("wechatpay-signature", ""), h.get("wechatpay-serial", "")
        if not (timestamp and nonce and signature and serial):
            raise WebhookRejected("missing Wechatpay-Timestamp/Nonce/Signature/Serial headers", gateway=self.id)
        if h.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise WebhookRejected(f"unsupported signature type {h['wechatpay-signature-type']}", gateway=self.id)
        key = self.platform_keys.get(serial)
        if key is None:
            raise WebhookRejected(f"unknown platform key/certificate serial {serial}", gateway=self.id)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected("body is not UTF-8", gateway=self.id) from None
        if not rsa_verify(timestamp, nonce, text, signature, key):
            raise WebhookRejected("Wechatpay-Signature does not verify", gateway=self.id)
        try:
            signed_at = int(timestamp)
        except ValueError:
            raise WebhookRejected("Wechatpay-Timestamp is not a number", gateway=self.id) from None
        if abs((now or datetime.now(UTC)).timestamp() - signed_at) > self.webhook_tolerance:
            raise WebhookRejected(
                f"Wechatpay-Timestamp is more than {self.webhook_tolerance}s from now (replay?)", gateway=self.id
            )
        try:
            notification = json.loads(text)
            resource = notification["resource"]
            if notification.get("resource_type") != "encrypt-resource" or resource.get("algorithm") != "AEAD_AES_256_GCM":
                raise ValueError("not an AEAD_AES_256_GCM resource")
            plaintext = aes_decrypt(
                nonce=resource["nonce"],
                ciphertext=resource["ciphertext"],
                associated_data=resource.get("associated_data") or "",
                apiv3_key=self.apiv3_key,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WebhookRejected(f"unreadable notification: {exc}", gateway=self.id) from None
        if plaintext is None:
            raise WebhookRejected("resource does not decrypt with our APIv3 key", gateway=self.id)
        try:
            refund = json.loads(plaintext)
        except ValueError:
            raise WebhookRejected("decrypted resource is not JSON", gateway=self.id) from None
        if str(refund.get("mchid", self.mchid)) != self.mchid:
            raise WebhookRejected(f"notification for merchant {refund.get('mchid')}", gateway=self.id)

        status = _EVENT_STATUS.get(str(notification.get("event_type")))
        if status is None or not refund.get("out_refund_no"):
            return []  # verified, but not about a refund (e.g. TRANSACTION.SUCCESS)
        amount = refund.get("amount") or {}
        refund_status = str(refund.get("refund_status") or "")
        occurred = _parse_time(refund.get("success_time")) or _parse_time(notification.get("create_time"))
        return [
            WebhookEvent(
                kind=KIND_FOR_STATUS[status],
                event_id=str(notification.get("id") or ""),
                gateway=self.id,
                gateway_ref=refund.get("refund_id"),
                idempotency_key=refund.get("out_refund_no"),
                charge_ref=refund.get(self.charge_ref_field) or refund.get("out_trade_no"),
                amount=from_wechat_amount(amount["refund"], self.currency) if "refund" in amount else None,
                occurred_at=occurred or now or datetime.now(UTC),
                raw={"notification": {k: v for k, v in notification.items() if k != "resource"}, "resource": refund},
                failure_reason=(_FAILURE_TEXT.get(refund_status, refund_status or "failed")
                                if status in (FAILED, ABNORMAL) else None),
                charge_refs=tuple(
                    [str(refund[f]) for f in ("out_trade_no", "transaction_id") if refund.get(f)]
                    + [f"{f}:{refund[f]}" for f in ("out_trade_no", "transaction_id") if refund.get(f)]
                ),
            )
        ]

    # --- transport ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, payload: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")) if payload is not None else ""
        headers = {
            "Authorization": build_authorization(
                path, method, self.mchid, self.merchant_serial_no, self._private_key, data=body
            ),
            "Accept": "application/json",
            "User-Agent": "refunddesk (wechatpayv3 signing)",
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self.platform_public_key_id:
            headers["Wechatpay-Serial"] = self.platform_public_key_id
        response = self.session.request(
            method, self.api_base + path, data=body.encode("utf-8") if body else None, headers=headers, timeout=self.timeout
        )
        text = response.content.decode("utf-8", errors="replace")
        if 200 <= response.status_code < 300:
            self._verify_response(response.headers, text)
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {"message": text[:200]}
        return response.status_code, data if isinstance(data, dict) else {"message": str(data)[:200]}

    def _verify_response(self, headers: Mapping[str, str], text: str) -> None:
        serial = headers.get("Wechatpay-Serial", "")
        key = self.platform_keys.get(serial)
        if key is None:
            raise _UnknownSerial(serial)
        if not rsa_verify(
            headers.get("Wechatpay-Timestamp", ""),
            headers.get("Wechatpay-Nonce", ""),
            text,
            headers.get("Wechatpay-Signature", ""),
            key,
        ):
            raise _BadSignature

    # --- helpers ---------------------------------------------------------------------------------
    def _result(self, data: Mapping[str, Any]) -> GatewayResult:
        state = str(data.get("status") or "")
        status = _STATUS.get(state)
        amount = data.get("amount") or {}
        if status is None or "refund" not in amount:
            raise Ambiguous(f"unreadable WeChat Pay refund: status {state!r}", gateway=self.id, raw=dict(data))
        return GatewayResult(
            status=status,
            gateway_ref=data.get("refund_id"),
            amount=from_wechat_amount(amount["refund"], str(amount.get("currency") or self.currency)),
            raw=dict(data),
            failure_reason=_FAILURE_TEXT.get(state, state) if status in (FAILED, ABNORMAL) else None,
            idempotency_key=data.get("out_refund_no"),
        )

    def _check_currency(self, amount: Money) -> None:
        if amount.currency != self.currency:
            raise Declined(
                f"this WeChat Pay merchant refunds in {self.currency}; the order is in {amount.currency}",
                gateway=self.id,
                gateway_code="currency_not_supported",
            )

    def _trade(self, charge_ref: str) -> tuple[str, str]:
        for field in ("transaction_id", "out_trade_no"):
            if charge_ref.startswith(field + ":"):
                return field, charge_ref[len(field) + 1 :]
        return self.charge_ref_field, charge_ref

    def _http_error(self, status: int, data: Mapping[str, Any], *, creating: bool) -> GatewayError:
        code = str(data.get("code") or status)
        message = str(data.get("message") or f"HTTP {status}")
        kw: dict[str, Any] = {"gateway": self.id, "gateway_code": code, "raw": dict(data)}
        if status == 429 or code == "FREQUENCY_LIMITED" or status >= 500 or code == "SYSTEM_ERROR":
            return Retryable(f"WeChat Pay asks to retry: {message}", **kw)
        if status == 401 or code in ("SIGN_ERROR", "NO_AUTH", "MCH_NOT_EXISTS", "APPID_MCHID_NOT_MATCH"):
            return GatewayConfigError(f"WeChat Pay refused our credentials: {message}", **kw)
        if 400 <= status < 500:
            return Declined(message, **kw)
        return (Ambiguous if creating else Retryable)(f"unexpected WeChat Pay answer {status}: {message}", **kw)

    def _translate(self, exc: Exception, *, creating: bool) -> GatewayError:
        unknown = Ambiguous if creating else Retryable
        if isinstance(exc, GatewayError):
            return exc
        if isinstance(exc, _UnknownSerial):
            return GatewayConfigError(
                f"WeChat Pay answered with platform key/certificate {exc} that is not configured", gateway=self.id
            )
        if isinstance(exc, _BadSignature):
            return unknown("WeChat Pay's answer failed signature verification", gateway=self.id, gateway_code="bad_sign")
        if isinstance(exc, requests.RequestException):
            if _http.never_sent(exc):
                return Retryable(f"could not reach WeChat Pay ({_http.describe(exc)})", gateway=self.id)
            return unknown(f"no answer from WeChat Pay after sending ({_http.describe(exc)})", gateway=self.id)
        raise exc


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None

"""A fake WeChat Pay API v3 for domestic refunds, and signed, encrypted refund notifications.

Checks what WeChat Pay checks: the ``WECHATPAY2-SHA256-RSA2048`` Authorization header (mchid, serial
number of the merchant key, a fresh timestamp, and the RSA-SHA256 signature of
``METHOD\\nURL\\ntimestamp\\nnonce\\nbody\\n`` with the merchant's public key), a User-Agent, that the trade
exists and ``amount.total`` is its total, the remaining refundable amount, and ``out_refund_no``
idempotency (same number + same parameters -> the same refund, other parameters -> 400). Every answer to
a correctly signed request is signed with the platform key (``Wechatpay-Signature`` over
``timestamp\\nnonce\\nbody\\n``, ``Wechatpay-Serial`` = the platform public key id).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .server import Drop, FakeServer, Faults, Request, Response

MCHID = "1900000109"
MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PLATFORM_KEY_ID = "PUB_KEY_ID_0119000001092025010100000000000001"
APIV3_KEY = "a7cde1ZJB1kG2e7VfTs3jQzG6ab9fd2k"  # 32 characters
CHINA = timezone(timedelta(hours=8))
REFUNDS = "/v3/refund/domestic/refunds"
_AUTH_RE = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class WxTrade:
    out_trade_no: str
    transaction_id: str
    total: int  # fen
    refunded: int = 0


def _now_rfc3339() -> str:
    return datetime.now(CHINA).replace(microsecond=0).isoformat()


def _sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


@dataclass
class WeChatFake:
    merchant_public_pem: str  # verifies our requests
    platform_private_key: rsa.RSAPrivateKey  # signs answers and notifications
    mchid: str = MCHID
    merchant_serial: str = MERCHANT_SERIAL
    platform_key_id: str = PLATFORM_KEY_ID
    apiv3_key: str = APIV3_KEY
    initial_status: str = "PROCESSING"  # what a new refund answers (WeChat: PROCESSING, then SUCCESS)
    faults: Faults = field(default_factory=lambda: Faults(fail_status=500))
    query_error: tuple[int, str, str] | None = None  # answer the next refund query with (status, code, message)

    def __post_init__(self) -> None:
        self.server: FakeServer | None = None
        self.lock = threading.Lock()
        self.trades: dict[str, WxTrade] = {}
        self.refunds: dict[str, dict[str, Any]] = {}  # out_refund_no -> refund object
        self._merchant_key = serialization.load_pem_public_key(self.merchant_public_pem.encode())
        self._ids = itertools.count(1)

    # --- test helpers ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def add_trade(self, total: int) -> WxTrade:
        n = next(self._ids)
        trade = WxTrade(out_trade_no=f"WXORDER{n:06d}", transaction_id=f"42000012342026112200{n:08d}", total=total)
        with self.lock:
            self.trades[trade.out_trade_no] = trade
            self.trades[trade.transaction_id] = trade
        return trade

    @property
    def refund_count(self) -> int:
        return len(self.refunds)

    def complete(self, out_refund_no: str, status: str = "SUCCESS") -> dict[str, Any]:
        """The bank finished (or gave up on) the refund."""
        with self.lock:
            refund = self.refunds[out_refund_no]
            refund["status"] = status
            if status == "SUCCESS":
                refund["success_time"] = _now_rfc3339()
            return refund

    def dashboard_refund(self, trade: WxTrade, amount: int) -> dict[str, Any]:
        """A refund made in the WeChat Pay merchant platform: a refund number refunddesk never issued."""
        with self.lock:
            return self._make(trade, f"MP{next(self._ids):010d}", amount, status="SUCCESS")

    def signed_notification(
        self,
        refund: dict[str, Any],
        *,
        event_type: str = "REFUND.SUCCESS",
        timestamp: int | None = None,
        key: rsa.RSAPrivateKey | None = None,
        serial: str | None = None,
        apiv3_key: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The POST WeChat Pay sends to notify_url: AES-256-GCM resource, RSA-signed headers."""
        resource = {
            "mchid": self.mchid,
            "out_trade_no": refund["out_trade_no"],
            "transaction_id": refund["transaction_id"],
            "out_refund_no": refund["out_refund_no"],
            "refund_id": refund["refund_id"],
            "refund_status": {"REFUND.SUCCESS": "SUCCESS", "REFUND.CLOSED": "CLOSED"}.get(event_type, "ABNORMAL"),
            "success_time": refund.get("success_time") or _now_rfc3339(),
            "user_received_account": refund["user_received_account"],
            "amount": {
                "total": refund["amount"]["total"],
                "refund": refund["amount"]["refund"],
                "payer_total": refund["amount"]["total"],
                "payer_refund": refund["amount"]["refund"],
            },
        }
        nonce = base64.b64encode(os.urandom(9)).decode()  # 12 characters
        ciphertext = AESGCM((apiv3_key or self.apiv3_key).encode()).encrypt(
            nonce.encode(), json.dumps(resource, ensure_ascii=False).encode(), b"refund"
        )
        notification = {
            "id": f"EV-2018022511223320873-{next(self._ids):04d}",
            "create_time": _now_rfc3339(),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "退款成功",
            "resource": {
                "original_type": "refund",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": "refund",
                "nonce": nonce,
            },
        }
        body = json.dumps(notification, ensure_ascii=False)
        return self._signed_headers(body, timestamp=timestamp, key=key, serial=serial), body.encode()

    # --- HTTP ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        problem = self._check_authorization(request)
        if problem:
            return Response.json(401, {"code": "SIGN_ERROR", "message": problem})
        if not request.header("user-agent"):
            return Response.json(400, {"code": "PARAM_ERROR", "message": "User-Agent is required"})
        if request.method == "POST" and request.path == REFUNDS:
            return self._create(request)
        if request.method == "GET" and request.path.startswith(REFUNDS + "/"):
            if self.query_error is not None:
                (status, code, message), self.query_error = self.query_error, None
                return self._json(status, {"code": code, "message": message})
            with self.lock:
                refund = self.refunds.get(unquote(request.path[len(REFUNDS) + 1 :]))
            if refund is None:
                return self._json(404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"})
            return self._json(200, refund)
        return self._json(404, {"code": "NOT_FOUND", "message": "no such API"})

    def _check_authorization(self, request: Request) -> str | None:
        header = request.header("authorization")
        scheme, _, rest = header.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return "Authorization scheme is not WECHATPAY2-SHA256-RSA2048"
        fields = dict(_AUTH_RE.findall(rest))
        if fields.get("mchid") != self.mchid:
            return "mchid does not match"
        if fields.get("serial_no") != self.merchant_serial:
            return "merchant certificate serial_no does not match"
        try:
            if abs(time.time() - int(fields.get("timestamp", ""))) > 300:
                return "timestamp expired"
        except ValueError:
            return "bad timestamp"
        message = (
            f"{request.method}\n{request.target}\n{fields['timestamp']}\n{fields.get('nonce_str', '')}\n"
            f"{request.body.decode('utf-8')}\n"
        )
        try:
            self._merchant_key.verify(
                base64.b64decode(fields.get("signature", "")), message.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return "签名错误"
        return None

    def _create(self, request: Request) -> Response:
        if self.faults.take_5xx():
            return Response.json(self.faults.fail_status, {"code": "SYSTEM_ERROR", "message": "系统错误"})
        if not request.header("content-type").startswith("application/json"):
            return self._json(400, {"code": "PARAM_ERROR", "message": "Content-Type must be application/json"})
        body = json.loads(request.body)
        out_refund_no = body.get("out_refund_no") or ""
        amount = body.get("amount") or {}
        if not re.fullmatch(r"[0-9A-Za-z_\-|*@]{1,64}", out_refund_no):
            return self._json(400, {"code": "PARAM_ERROR", "message": "out_refund_no 格式错误"})
        if not isinstance(amount.get("refund"), int) or not isinstance(amount.get("total"), int):
            return self._json(400, {"code": "PARAM_ERROR", "message": "amount.refund/total must be integers (fen)"})
        if "notify_url" in body and not str(body["notify_url"]).startswith("https://"):
            return self._json(400, {"code": "PARAM_ERROR", "message": "notify_url 必须为 https 地址"})
        if amount.get("currency") != "CNY":
            return self._json(400, {"code": "PARAM_ERROR", "message": "currency must be CNY"})
        with self.lock:
            trade = self.trades.get(body.get("transaction_id") or body.get("out_trade_no") or "")
            if trade is None:
                return self._json(404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"})
            existing = self.refunds.get(out_refund_no)
            if existing is not None:
                if existing["out_trade_no"] != trade.out_trade_no or existing["amount"]["refund"] != amount["refund"]:
                    return self._json(400, {"code": "INVALID_REQUEST", "message": "请求参数与已受理的退款单不一致"})
                return self._json(200, existing)
            if amount["total"] != trade.total:
                return self._json(400, {"code": "PARAM_ERROR", "message": "订单金额与原订单不一致"})
            if amount["refund"] <= 0:
                return self._json(400, {"code": "PARAM_ERROR", "message": "退款金额必须大于0"})
            decline = self.faults.take_decline()
            if decline:
                code = decline if isinstance(decline, str) else "NOT_ENOUGH"
                return self._json(403, {"code": code, "message": "基本账户余额不足，请充值后重新发起"})
            if trade.refunded >= trade.total:
                return self._json(400, {"code": "INVALID_REQUEST", "message": "订单已全额退款"})
            if amount["refund"] > trade.total - trade.refunded:
                return self._json(400, {"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"})
            refund = self._make(trade, out_refund_no, amount["refund"], status=self.initial_status)
            response = self._json(200, refund)
        if self.faults.take_drop():
            raise Drop
        response.delay = self.faults.slow
        return response

    def _make(self, trade: WxTrade, out_refund_no: str, amount: int, *, status: str) -> dict[str, Any]:
        refund = {
            "refund_id": f"5030000000202611220{next(self._ids):011d}",
            "out_refund_no": out_refund_no,
            "transaction_id": trade.transaction_id,
            "out_trade_no": trade.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "招商银行信用卡0403",
            "create_time": _now_rfc3339(),
            "status": status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": trade.total,
                "refund": amount,
                "payer_total": trade.total,
                "payer_refund": amount,
                "settlement_refund": amount,
                "settlement_total": trade.total,
                "discount_refund": 0,
                "currency": "CNY",
                "refund_fee": 0,
            },
        }
        if status == "SUCCESS":
            refund["success_time"] = _now_rfc3339()
        trade.refunded += amount
        self.refunds[out_refund_no] = refund
        return refund

    def _json(self, status: int, payload: dict[str, Any]) -> Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        headers = {"Content-Type": "application/json; charset=utf-8", "Request-ID": f"08F4{next(self._ids):012d}"}
        headers.update(self._signed_headers(body))
        return Response(status, body.encode("utf-8"), headers)

    def _signed_headers(
        self,
        body: str,
        *,
        timestamp: int | None = None,
        key: rsa.RSAPrivateKey | None = None,
        serial: str | None = None,
    ) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = base64.b16encode(os.urandom(16)).decode()
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": _sign(key or self.platform_private_key, f"{ts}\n{nonce}\n{body}\n"),
            "Wechatpay-Serial": serial or self.platform_key_id,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

"""A fake Alipay open platform gateway (``/gateway.do``) for refunds, and signed async notifications.

Checks what Alipay checks: the app_id, ``sign_type=RSA2`` and the RSA2 signature of the request
parameters with the merchant application's public key, the timestamp (China time, GMT+8), that the
trade exists, that the refund is not more than what is left on it, and ``out_request_no`` idempotency
(same number + same amount -> ``fund_change N``, no second refund; other amount ->
``ACQ.DISCORDANT_REPEAT_REQUEST``). Answers are signed with Alipay's private key the way Alipay does
(over the JSON text of the ``..._response`` object).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .server import Drop, FakeServer, Faults, Request, Response

APP_ID = "2021000000000001"
CHINA = timezone(timedelta(hours=8))


@dataclass
class Trade:
    out_trade_no: str
    trade_no: str
    total: int  # fen
    refunded: int = 0


@dataclass
class AlipayRefund:
    trade: Trade
    out_request_no: str
    amount: int
    at: datetime


def _yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def sign_rsa2(key: rsa.RSAPrivateKey, text: str) -> str:
    return base64.b64encode(key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())).decode()


@dataclass
class AlipayFake:
    app_public_pem: str  # the merchant application's public key (verifies requests)
    alipay_private_key: rsa.RSAPrivateKey  # Alipay's key (signs answers and notifications)
    app_id: str = APP_ID
    faults: Faults = field(default_factory=Faults)
    system_errors: int = 0  # answer the next n refunds with a signed ACQ.SYSTEM_ERROR
    query_failures: int = 0  # answer the next n refund queries with HTTP 503 (the gateway is down)

    def __post_init__(self) -> None:
        self.server: FakeServer | None = None
        self.lock = threading.Lock()
        self.trades: dict[str, Trade] = {}
        self.refunds: list[AlipayRefund] = []
        self._app_key = serialization.load_pem_public_key(self.app_public_pem.encode())
        self._ids = itertools.count(1)

    # --- test helpers ------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url + "/gateway.do"

    def add_trade(self, total: int) -> Trade:
        n = next(self._ids)
        trade = Trade(out_trade_no=f"ORDER{n:06d}", trade_no=f"2026112222001400{n:012d}", total=total)
        with self.lock:
            self.trades[trade.out_trade_no] = trade
            self.trades[trade.trade_no] = trade
        return trade

    @property
    def refund_count(self) -> int:
        return len(self.refunds)

    def dashboard_refund(self, trade: Trade, amount: int) -> AlipayRefund:
        """A refund made in the Alipay merchant console: a request number refunddesk never issued."""
        with self.lock:
            return self._make(trade, f"CONSOLE{next(self._ids):08d}", amount)

    def signed_notification(
        self,
        refund: AlipayRefund,
        *,
        key: rsa.RSAPrivateKey | None = None,
        app_id: str | None = None,
        sent_at: datetime | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """The async notification Alipay POSTs after a refund (trade_status_sync with refund_fee), signed;
        ``notify_time`` is when it was sent (``sent_at``, default now)."""
        trade = refund.trade
        now = (sent_at or datetime.now(CHINA)).astimezone(CHINA)
        params = {
            "notify_time": now.strftime("%Y-%m-%d %H:%M:%S"),
            "notify_type": "trade_status_sync",
            "notify_id": f"ac05099524730693a8b330c5ecf72da{next(self._ids):04d}",
            "app_id": app_id or self.app_id,
            "charset": "utf-8",
            "version": "1.0",
            "sign_type": "RSA2",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "out_biz_no": refund.out_request_no,
            "buyer_id": "2088102122524333",
            "seller_id": "2088101106499364",
            "trade_status": "TRADE_CLOSED" if trade.refunded >= trade.total else "TRADE_SUCCESS",
            "total_amount": _yuan(trade.total),
            "receipt_amount": _yuan(trade.total),
            "refund_fee": _yuan(trade.refunded),
            "subject": "会员月费",
            "gmt_create": (now - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S"),
            "gmt_payment": (now - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S"),
            "gmt_refund": refund.at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        }
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type"))
        params["sign"] = sign_rsa2(key or self.alipay_private_key, unsigned)
        return {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, urlencode(params).encode()

    # --- HTTP --------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path != "/gateway.do":
            return Response(404, b"not found")
        if request.method == "POST":
            params = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        else:
            params = {k: v[-1] for k, v in request.query.items()}
        method = params.get("method", "")
        response_key = method.replace(".", "_") + "_response"

        if params.get("app_id") != self.app_id:
            return self._unsigned(response_key, "40002", "isv.invalid-app-id", "无效的AppID参数")
        if params.get("sign_type") != "RSA2":
            return self._unsigned(response_key, "40002", "isv.invalid-sign-type", "无效的签名类型")
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
        try:
            self._app_key.verify(
                base64.b64decode(params.get("sign", "")), unsigned.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return self._unsigned(response_key, "40002", "isv.invalid-signature", "验签出错")
        try:
            sent_at = datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
        except ValueError:
            return self._unsigned(response_key, "40002", "isv.invalid-timestamp", "非法的时间戳参数")
        if abs((datetime.now(CHINA) - sent_at).total_seconds()) > 15 * 60:
            return self._unsigned(response_key, "40002", "isv.invalid-timestamp", "请求已过期")
        biz = json.loads(params.get("biz_content") or "{}")

        if method == "alipay.trade.refund":
            return self._refund(response_key, biz)
        if method == "alipay.trade.fastpay.refund.query":
            return self._query(response_key, biz)
        return self._unsigned(response_key, "40004", "isv.invalid-method", "不存在的方法名")

    def _refund(self, key: str, biz: dict[str, Any]) -> Response:
        if self.faults.take_5xx():
            return Response(self.faults.fail_status, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
        with self.lock:
            if self.system_errors > 0:
                self.system_errors -= 1
                return self._signed(key, _failure("ACQ.SYSTEM_ERROR", "系统错误"))
            trade = self.trades.get(biz.get("trade_no") or biz.get("out_trade_no") or "")
            if trade is None:
                return self._signed(key, _failure("ACQ.TRADE_NOT_EXIST", "交易不存在"))
            try:
                amount_dec = Decimal(str(biz.get("refund_amount")))
            except InvalidOperation:
                return self._signed(key, _failure("ACQ.INVALID_PARAMETER", "参数无效", code="40002"))
            if amount_dec <= 0 or amount_dec != amount_dec.quantize(Decimal("0.01")):
                return self._signed(key, _failure("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效"))
            amount = int(amount_dec * 100)
            out_request_no = biz.get("out_request_no") or trade.out_trade_no
            existing = next(
                (r for r in self.refunds if r.trade is trade and r.out_request_no == out_request_no), None
            )
            if existing is not None:
                if existing.amount != amount:
                    return self._signed(key, _failure("ACQ.DISCORDANT_REPEAT_REQUEST", "再次请求的参数与第一次不一致"))
                return self._signed(key, self._refund_answer(trade, existing, fund_change="N"))
            decline = self.faults.take_decline()
            if decline:
                code = decline if isinstance(decline, str) else "ACQ.SELLER_BALANCE_NOT_ENOUGH"
                return self._signed(key, _failure(code, "卖家余额不足"))
            if trade.refunded >= trade.total:
                return self._signed(key, _failure("ACQ.TRADE_HAS_CLOSED", "交易已关闭"))
            if amount > trade.total - trade.refunded:
                return self._signed(key, _failure("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"))
            refund = self._make(trade, out_request_no, amount)
            response = self._signed(key, self._refund_answer(trade, refund, fund_change="Y"))
        if self.faults.take_drop():
            raise Drop
        response.delay = self.faults.slow
        return response

    def _make(self, trade: Trade, out_request_no: str, amount: int) -> AlipayRefund:
        refund = AlipayRefund(trade, out_request_no, amount, datetime.now(CHINA))
        trade.refunded += amount
        self.refunds.append(refund)
        return refund

    def _refund_answer(self, trade: Trade, refund: AlipayRefund, *, fund_change: str) -> dict[str, Any]:
        return {
            "code": "10000",
            "msg": "Success",
            "buyer_logon_id": "159****5620",
            "buyer_user_id": "2088101117955611",
            "fund_change": fund_change,
            "gmt_refund_pay": refund.at.strftime("%Y-%m-%d %H:%M:%S"),
            "out_trade_no": trade.out_trade_no,
            "refund_fee": _yuan(trade.refunded),
            "send_back_fee": _yuan(refund.amount),
            "trade_no": trade.trade_no,
        }

    def _query(self, key: str, biz: dict[str, Any]) -> Response:
        if self.query_failures > 0:
            self.query_failures -= 1
            return Response(503, b"<html>Service Unavailable</html>", {"Content-Type": "text/html"})
        with self.lock:
            trade = self.trades.get(biz.get("trade_no") or biz.get("out_trade_no") or "")
            if trade is None:
                return self._signed(key, _failure("ACQ.TRADE_NOT_EXIST", "交易不存在"))
            answer: dict[str, Any] = {
                "code": "10000",
                "msg": "Success",
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
            }
            refund = next(
                (r for r in self.refunds if r.trade is trade and r.out_request_no == biz.get("out_request_no")), None
            )
            if refund is not None:
                answer.update(
                    out_request_no=refund.out_request_no,
                    total_amount=_yuan(trade.total),
                    refund_amount=_yuan(refund.amount),
                    refund_status="REFUND_SUCCESS",
                    gmt_refund_pay=refund.at.strftime("%Y-%m-%d %H:%M:%S"),
                )
            return self._signed(key, answer)

    def _signed(self, key: str, payload: dict[str, Any]) -> Response:
        inner = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        sign = sign_rsa2(self.alipay_private_key, inner)
        body = '{"' + key + '":' + inner + ',"sign":"' + sign + '"}'
        return Response(200, body.encode("utf-8"), {"Content-Type": "text/html;charset=utf-8"})

    @staticmethod
    def _unsigned(key: str, code: str, sub_code: str, sub_msg: str) -> Response:
        payload = {"code": code, "msg": "Invalid Arguments", "sub_code": sub_code, "sub_msg": sub_msg}
        body = json.dumps({key: payload}, ensure_ascii=False, separators=(",", ":"))
        return Response(200, body.encode("utf-8"), {"Content-Type": "text/html;charset=utf-8"})


def _failure(sub_code: str, sub_msg: str, *, code: str = "40004") -> dict[str, Any]:
    return {"code": code, "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}

"""A fake Stripe API for refunds: ``/v1/refunds`` create/list/retrieve, and signed webhooks.

Checks what Stripe checks: ``Authorization: Bearer <secret key>``, form-encoded bodies, one of
``charge``/``payment_intent``, a positive integer ``amount`` no larger than what is left on the charge,
and ``Idempotency-Key``: a repeat with the same key and the same parameters replays the first answer
(``Idempotent-Replayed: true``), the same key with other parameters is ``400 idempotency_error``.

Amounts are in Stripe's unit, as Stripe keeps them: ``add_charge(50000, "isk")`` is a charge of 500 ISK
(ISK and UGX are two-decimal in Stripe's API and must be divisible by 100; three-decimal currencies must
end in 0: docs.stripe.com/currencies#special-cases). A refund that fails after succeeding (a closed card)
gives its amount back to the charge, as Stripe does (``amount_refunded`` goes down).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .server import Drop, FakeServer, Faults, Request, Response

API_KEY = "sk_test_refunddesk_fake"
#: Documented special cases: two-decimal in the API but "effectively zero-decimal" (amount % 100 == 0).
WHOLE_UNITS_ONLY = {"isk", "ugx"}
THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
WEBHOOK_SECRET = "whsec_refunddesk_fake"


@dataclass
class Charge:
    id: str
    payment_intent: str
    amount: int
    currency: str  # lower-case, like Stripe
    refunded: int = 0


@dataclass
class StripeFake:
    api_key: str = API_KEY
    webhook_secret: str = WEBHOOK_SECRET
    refund_status: str = "succeeded"  # status new refunds get ("pending" to emulate slow banks)
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self.server: FakeServer | None = None
        self.lock = threading.Lock()
        self.charges: dict[str, Charge] = {}
        self.refunds: dict[str, dict[str, Any]] = {}  # id -> refund object, in creation order
        self.idempotency: dict[str, tuple[tuple, int, bytes]] = {}
        self._ids = itertools.count(1)

    # --- test helpers -------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self.server is not None, "start it with tests.payments.conftest.serving()"
        return self.server.url

    def add_charge(self, amount: int, currency: str = "usd") -> Charge:
        n = next(self._ids)
        charge = Charge(id=f"ch_fake{n:06d}", payment_intent=f"pi_fake{n:06d}", amount=amount, currency=currency.lower())
        with self.lock:
            self.charges[charge.id] = charge
            self.charges[charge.payment_intent] = charge
        return charge

    @property
    def refund_count(self) -> int:
        return len(self.refunds)

    def refunds_for(self, charge: Charge) -> list[dict[str, Any]]:
        return [r for r in self.refunds.values() if r["charge"] == charge.id]

    def dashboard_refund(self, charge: Charge, amount: int) -> dict[str, Any]:
        """A refund made by a person in the Stripe dashboard: no refunddesk metadata."""
        with self.lock:
            return self._make_refund(charge, amount, {})

    def set_status(self, refund_id: str, status: str, failure_reason: str | None = None) -> dict[str, Any]:
        """Move a refund as Stripe does: pending -> succeeded | failed | canceled, succeeded -> failed (the
        bank returned it: its amount is available on the charge again). Failed and canceled are final."""
        with self.lock:
            refund = self.refunds[refund_id]
            old = refund["status"]
            if old in ("failed", "canceled") and status != old:
                raise ValueError(f"Stripe never moves a {old} refund (to {status})")
            refund["status"] = status
            if failure_reason:
                refund["failure_reason"] = failure_reason
            if status in ("failed", "canceled") and old not in ("failed", "canceled"):
                charge = self.charges[refund["charge"]]
                charge.refunded -= refund["amount"]
            return refund

    def succeeded_total(self, charge: Charge) -> int:
        """What Stripe holds as refunded on the charge, in Stripe's unit (succeeded refunds only)."""
        return sum(r["amount"] for r in self.refunds_for(charge) if r["status"] == "succeeded")

    def signed_notification(
        self,
        refund_id: str | None = None,
        *,
        event_type: str = "refund.updated",
        charge: Charge | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of a webhook delivery, signed like Stripe does (``t=...,v1=HMAC``)."""
        now = int(time.time())
        if event_type == "charge.refunded":
            assert charge is not None
            obj: dict[str, Any] = {
                "id": charge.id,
                "object": "charge",
                "amount": charge.amount,
                "amount_refunded": charge.refunded,
                "currency": charge.currency,
                "payment_intent": charge.payment_intent,
                "refunded": charge.refunded >= charge.amount,
            }
        else:
            assert refund_id is not None
            obj = dict(self.refunds[refund_id])
        event = {
            "id": f"evt_fake{next(self._ids):06d}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": now,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        body = json.dumps(event).encode()
        t = timestamp if timestamp is not None else now
        mac = hmac.new((secret or self.webhook_secret).encode(), f"{t}.".encode() + body, hashlib.sha256)
        return {"Stripe-Signature": f"t={t},v1={mac.hexdigest()}", "Content-Type": "application/json"}, body

    # --- HTTP ------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.header("authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_request_error", None, "Invalid API Key provided.")
        if request.method == "POST" and request.path == "/v1/refunds":
            return self._create(request)
        if request.method == "GET" and request.path == "/v1/refunds":
            return self._list(request)
        if request.method == "GET" and request.path.startswith("/v1/refunds/"):
            refund = self.refunds.get(request.path.rsplit("/", 1)[1])
            if refund is None:
                return _error(404, "invalid_request_error", "resource_missing", "No such refund", param="id")
            return Response.json(200, refund)
        return _error(404, "invalid_request_error", None, f"Unrecognized request URL ({request.method} {request.path})")

    def _create(self, request: Request) -> Response:
        if not request.header("content-type").startswith("application/x-www-form-urlencoded"):
            return _error(400, "invalid_request_error", None, "form-encoded body expected")
        pairs = parse_qsl(request.body.decode(), keep_blank_values=True, strict_parsing=False)
        fingerprint = tuple(sorted(pairs))
        params = dict(pairs)
        key = request.header("idempotency-key")

        if self.faults.take_5xx():
            status = self.faults.fail_status
            headers = {"Stripe-Should-Retry": "false"} if status == 500 else {}
            return _error(status, "api_error", None, "An unknown error occurred (fake 5xx)", headers=headers)

        with self.lock:
            if key and key in self.idempotency:
                seen, status, body = self.idempotency[key]
                if seen != fingerprint:
                    return _error(
                        400,
                        "idempotency_error",
                        None,
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    )
                return Response(status, body, {"Content-Type": "application/json", "Idempotent-Replayed": "true"})

            ref = params.get("payment_intent") or params.get("charge")
            if not ref or ("payment_intent" in params and "charge" in params):
                return _error(400, "invalid_request_error", "parameter_missing", "Give one of charge or payment_intent.")
            charge = self.charges.get(ref)
            if charge is None:
                param = "payment_intent" if "payment_intent" in params else "charge"
                return _error(400, "invalid_request_error", "resource_missing", f"No such {param}: '{ref}'", param=param)
            try:
                amount = int(params.get("amount", charge.amount - charge.refunded))
            except ValueError:
                return _error(400, "invalid_request_error", "parameter_invalid_integer", "Invalid integer", param="amount")
            if amount <= 0:
                return _error(400, "invalid_request_error", "parameter_invalid_integer", "amount must be positive", param="amount")
            if charge.currency in WHOLE_UNITS_ONLY and amount % 100:
                return _error(400, "invalid_request_error", "invalid_charge_amount_no_decimal_compatible",
                              f"Invalid amount. Currency {charge.currency.upper()} has become effectively zero-decimal "
                              "and charged amounts must be evenly divisible by 100.", param="amount")
            if charge.currency in THREE_DECIMAL and amount % 10:
                return _error(400, "invalid_request_error", "amount_invalid",
                              "Amounts in three-decimal currencies must end in 0.", param="amount")
            decline = self.faults.take_decline()
            if decline:
                code = decline if isinstance(decline, str) else "charge_expired_for_refund"
                return _error(400, "invalid_request_error", code, "This charge is too old to be refunded (fake decline).")
            if charge.refunded >= charge.amount:
                return _error(400, "invalid_request_error", "charge_already_refunded", f"Charge {charge.id} has already been refunded.")
            if amount > charge.amount - charge.refunded:
                return _error(
                    400,
                    "invalid_request_error",
                    "amount_too_large",
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge ({charge.amount - charge.refunded})",
                    param="amount",
                )
            metadata = {k[len("metadata["):-1]: v for k, v in params.items() if k.startswith("metadata[")}
            refund = self._make_refund(charge, amount, metadata)
            response = Response.json(200, refund)
            if key:
                self.idempotency[key] = (fingerprint, 200, response.body)
        if self.faults.take_drop():
            raise Drop
        response.delay = self.faults.slow
        return response

    def _make_refund(self, charge: Charge, amount: int, metadata: dict[str, str]) -> dict[str, Any]:
        refund = {
            "id": f"re_fake{next(self._ids):06d}",
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge.id,
            "created": int(time.time()),
            "currency": charge.currency,
            "metadata": metadata,
            "payment_intent": charge.payment_intent,
            "reason": None,
            "status": self.refund_status,
        }
        charge.refunded += amount
        self.refunds[refund["id"]] = refund
        return refund

    def _list(self, request: Request) -> Response:
        q = {k: v[-1] for k, v in request.query.items()}
        items = list(reversed(self.refunds.values()))  # newest first
        if "charge" in q:
            items = [r for r in items if r["charge"] == q["charge"]]
        if "payment_intent" in q:
            items = [r for r in items if r["payment_intent"] == q["payment_intent"]]
        if "starting_after" in q:
            ids = [r["id"] for r in items]
            items = items[ids.index(q["starting_after"]) + 1 :] if q["starting_after"] in ids else []
        limit = int(q.get("limit", 10))
        page = items[:limit]
        return Response.json(
            200, {"object": "list", "data": page, "has_more": len(items) > limit, "url": "/v1/refunds"}
        )


def _error(
    status: int, type_: str, code: str | None, message: str, *, param: str | None = None, headers: dict | None = None
) -> Response:
    err: dict[str, Any] = {"type": type_, "message": message}
    if code:
        err["code"] = code
    if param:
        err["param"] = param
    return Response.json(status, {"error": err}, {"Request-Id": f"req_fake{int(time.time() * 1000)}", **(headers or {})})

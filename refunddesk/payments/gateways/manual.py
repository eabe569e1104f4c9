"""Finance pays it back by hand (bank transfer, cash, a gateway refunddesk does not drive) and marks the
refund paid with their reference. The adapter calls nothing; it exists so the contract is uniform.

``refund`` and ``fetch`` both answer ``pending`` (never None: there is nothing to "send again", and
a pending answer keeps the worker from re-sending). The Refund moves on only when a person records it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from refunddesk.core.money import Money

from .base import PENDING, GatewayResult, RefundCommand, RefundQuery, WebhookEvent
from .errors import WebhookRejected


class ManualGateway:
    supports_webhooks = False

    def __init__(self, *, id: str = "manual", instructions: str = "") -> None:
        self.id = id
        self.instructions = instructions

    def _pending(self, key: str, charge_ref: str, amount: Money) -> GatewayResult:
        raw: dict[str, object] = {"manual": True, "idempotency_key": key, "charge_ref": charge_ref}
        if self.instructions:
            raw["instructions"] = self.instructions
        return GatewayResult(status=PENDING, gateway_ref=None, amount=amount, raw=raw)

    def refund(self, cmd: RefundCommand) -> GatewayResult:
        return self._pending(cmd.idempotency_key, cmd.charge_ref, cmd.amount)

    def fetch(self, query: RefundQuery) -> GatewayResult | None:
        return self._pending(query.idempotency_key, query.charge_ref, query.amount)

    def list_refunds(self, charge_ref: str, currency: str) -> None:
        """Nothing to list: finance records manual refunds by hand."""
        return None

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime | None = None
    ) -> list[WebhookEvent]:
        raise WebhookRejected("manual refunds have no webhooks; finance records them by hand", gateway=self.id)

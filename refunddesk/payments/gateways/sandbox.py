"""The demo gateway: in-process, deterministic, no network, no money.

* ``refund`` answers ``pending`` (or ``succeeded`` at once when ``delay_seconds`` is 0); ``fetch`` answers
  ``succeeded`` once ``delay_seconds`` have passed since the refund was first accepted.
* The same idempotency key always gets the same refund (one record per key); the same key with another
  charge or amount raises ``Ambiguous`` (like Stripe's idempotency_error: something else already holds it).
* Refunds on one charge may not add up to more than the order total: ``Declined``.
* Fault switches by amount (minor units as digits, e.g. ``"13"`` matches 1913 and 113):
  ``decline_amounts`` / ``decline_endings`` -> ``Declined``; ``fail_endings`` -> accepted, then
  ``failed`` after the delay; ``ambiguous_endings`` -> recorded, then ``Ambiguous`` raised (fetch finds it);
  ``retryable_endings`` -> the first attempt of each key raises ``Retryable``, the next one goes through.

State lives in a ``SandboxStore``. The default ``InMemoryStore`` is per process; when the app runs several
processes, inject a shared store (anything with the three methods below, e.g. backed by the database).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from refunddesk.core.money import Money

from .base import FAILED, PENDING, SUCCEEDED, GatewayResult, RefundCommand, RefundQuery, WebhookEvent
from .errors import Ambiguous, Declined, GatewayConfigError, Retryable, WebhookRejected

ClaimOutcome = Literal["created", "exists", "over_limit"]


class SandboxStore(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def claim(
        self, key: str, record: Mapping[str, Any], *, charge_ref: str | None = None, limit_minor: int | None = None
    ) -> tuple[dict[str, Any] | None, ClaimOutcome]:
        """Atomically: if ``key`` exists return (its record, "exists"); else if ``charge_ref`` is given and
        the records already claimed for that charge plus this one exceed ``limit_minor`` return
        (None, "over_limit"); else store ``record`` and return (it, "created")."""
        ...

    def total_for_charge(self, charge_ref: str) -> int: ...

    def for_charge(self, charge_ref: str) -> list[dict[str, Any]]:
        """Every record claimed for ``charge_ref``."""
        ...


class InMemoryStore:
    """Thread-safe, per-process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}
        self._by_charge: dict[str, int] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._records.get(key)
            return dict(record) if record is not None else None

    def claim(
        self, key: str, record: Mapping[str, Any], *, charge_ref: str | None = None, limit_minor: int | None = None
    ) -> tuple[dict[str, Any] | None, ClaimOutcome]:
        with self._lock:
            if key in self._records:
                return dict(self._records[key]), "exists"
            amount = int(record.get("amount_minor", 0))
            if charge_ref is not None and limit_minor is not None:
                if self._by_charge.get(charge_ref, 0) + amount > limit_minor:
                    return None, "over_limit"
            self._records[key] = dict(record)
            if charge_ref is not None:
                self._by_charge[charge_ref] = self._by_charge.get(charge_ref, 0) + amount
            return dict(record), "created"

    def total_for_charge(self, charge_ref: str) -> int:
        with self._lock:
            return self._by_charge.get(charge_ref, 0)

    def for_charge(self, charge_ref: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._records.values() if r.get("charge_ref") == charge_ref]


def _digits_match(minor: int, endings: Iterable[str]) -> bool:
    text = str(minor)
    return any(text.endswith(str(ending)) for ending in endings if str(ending))


class SandboxGateway:
    supports_webhooks = False

    def __init__(
        self,
        *,
        id: str = "sandbox",
        delay_seconds: float = 2.0,
        decline_amounts: Iterable[int] = (),
        decline_endings: Iterable[str] = (),
        fail_endings: Iterable[str] = (),
        ambiguous_endings: Iterable[str] = (),
        retryable_endings: Iterable[str] = (),
        store: SandboxStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            self.delay_seconds = float(delay_seconds)
            self.decline_amounts = frozenset(int(a) for a in decline_amounts)
        except (TypeError, ValueError) as exc:
            raise GatewayConfigError(f"sandbox settings: {exc}", gateway=id) from None
        if self.delay_seconds < 0:
            raise GatewayConfigError("sandbox delay_seconds must be 0 or more", gateway=id)
        self.id = id
        self.decline_endings = tuple(str(e) for e in decline_endings)
        self.fail_endings = tuple(str(e) for e in fail_endings)
        self.ambiguous_endings = tuple(str(e) for e in ambiguous_endings)
        self.retryable_endings = tuple(str(e) for e in retryable_endings)
        self.store: SandboxStore = store if store is not None else InMemoryStore()
        self.clock = clock

    # --- contract -----------------------------------------------------------
    def refund(self, cmd: RefundCommand) -> GatewayResult:
        minor = cmd.amount.minor
        special = (minor in self.decline_amounts or _digits_match(minor, self.decline_endings)
                   or _digits_match(minor, self.retryable_endings))
        existing = self.store.get(cmd.idempotency_key) if special else None  # else `claim` answers it
        if existing is not None:
            self._check_same(existing, cmd)
            return self._result(existing)

        if minor in self.decline_amounts or _digits_match(minor, self.decline_endings):
            raise Declined(
                f"sandbox declines {cmd.amount} (configured to decline this amount)",
                gateway=self.id,
                gateway_code="sandbox_declined",
            )
        if _digits_match(minor, self.retryable_endings):
            _, first = self.store.claim(f"{cmd.idempotency_key}#retry", {"amount_minor": 0})
            if first == "created":
                raise Retryable("sandbox: simulated transient failure, send again", gateway=self.id)

        outcome = FAILED if _digits_match(minor, self.fail_endings) else SUCCEEDED
        record = {
            "gateway_ref": "sbx_re_" + hashlib.sha256(cmd.idempotency_key.encode()).hexdigest()[:20],
            "idempotency_key": cmd.idempotency_key,
            "charge_ref": cmd.charge_ref,
            "amount_minor": minor,
            "currency": cmd.amount.currency,
            "created_at": self.clock(),
            "outcome": outcome,
            "failure_reason": "sandbox: configured to fail this amount" if outcome == FAILED else None,
        }
        stored, claimed = self.store.claim(
            cmd.idempotency_key, record, charge_ref=cmd.charge_ref, limit_minor=cmd.order_total.minor
        )
        if claimed == "over_limit":
            left = cmd.order_total.minor - self.store.total_for_charge(cmd.charge_ref)
            raise Declined(
                f"refund of {cmd.amount} is more than what is left on charge {cmd.charge_ref} "
                f"({Money(max(left, 0), cmd.amount.currency)})",
                gateway=self.id,
                gateway_code="amount_exceeds_remaining",
            )
        assert stored is not None
        if claimed == "exists":  # lost a race with a concurrent call using the same key
            self._check_same(stored, cmd)
        elif _digits_match(minor, self.ambiguous_endings):
            raise Ambiguous("sandbox: simulated lost answer (the refund was recorded)", gateway=self.id)
        return self._result(stored)

    def fetch(self, query: RefundQuery) -> GatewayResult | None:
        record = self.store.get(query.idempotency_key)
        return self._result(record) if record is not None else None

    def list_refunds(self, charge_ref: str, currency: str) -> list[GatewayResult]:
        """Every refund the sandbox holds on the charge, as ``fetch`` would answer each."""
        return [self._result(record) for record in self.store.for_charge(charge_ref) if "gateway_ref" in record]

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime | None = None
    ) -> list[WebhookEvent]:
        raise WebhookRejected("the sandbox gateway sends no webhooks", gateway=self.id)

    # --- helpers ------------------------------------------------------------
    def _check_same(self, record: Mapping[str, Any], cmd: RefundCommand) -> None:
        if (
            record["charge_ref"] != cmd.charge_ref
            or record["amount_minor"] != cmd.amount.minor
            or record["currency"] != cmd.amount.currency
        ):
            raise Ambiguous(
                f"idempotency key {cmd.idempotency_key} already holds a refund of "
                f"{Money(record['amount_minor'], record['currency'])} on {record['charge_ref']}; "
                "fetch it instead of sending different parameters",
                gateway=self.id,
                gateway_code="idempotency_mismatch",
            )

    def _result(self, record: Mapping[str, Any]) -> GatewayResult:
        done = self.clock() - float(record["created_at"]) >= self.delay_seconds
        status = record["outcome"] if done else PENDING
        return GatewayResult(
            status=status,
            gateway_ref=record["gateway_ref"],
            amount=Money(int(record["amount_minor"]), record["currency"]),
            raw={
                "sandbox": True,
                "idempotency_key": record["idempotency_key"],
                "charge_ref": record["charge_ref"],
                "created_at": datetime.fromtimestamp(float(record["created_at"]), UTC).isoformat(),
                "settles_after_seconds": self.delay_seconds,
            },
            failure_reason=record.get("failure_reason") if status == FAILED else None,
            idempotency_key=record["idempotency_key"],
        )

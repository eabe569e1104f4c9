"""The sandbox (demo) and manual gateways: in-process, deterministic."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refunddesk.core.money import Money
from refunddesk.payments.gateways.base import Gateway, RefundCommand
from refunddesk.payments.gateways.errors import Ambiguous, Declined, Retryable, WebhookRejected
from refunddesk.payments.gateways.manual import ManualGateway
from refunddesk.payments.gateways.sandbox import InMemoryStore, SandboxGateway


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def command(amount: int, key: str = "rf_1", *, charge: str = "ch_1", total: int = 10_000) -> RefundCommand:
    return RefundCommand(
        idempotency_key=key, charge_ref=charge, amount=Money(amount, "CNY"), order_total=Money(total, "CNY")
    )


def test_both_satisfy_the_contract():
    assert isinstance(SandboxGateway(), Gateway)
    assert isinstance(ManualGateway(), Gateway)


def test_pending_then_succeeded_after_the_delay():
    clock = Clock()
    gw = SandboxGateway(delay_seconds=2, clock=clock)
    result = gw.refund(command(1999))
    assert result.status == "pending" and result.amount == Money(1999, "CNY")
    assert gw.fetch(command(1999).query()).status == "pending"
    clock.now += 2
    settled = gw.fetch(command(1999).query())
    assert settled.status == "succeeded" and settled.gateway_ref == result.gateway_ref


def test_zero_delay_succeeds_at_once():
    assert SandboxGateway(delay_seconds=0).refund(command(500)).status == "succeeded"


def test_same_key_returns_the_same_refund():
    gw = SandboxGateway(delay_seconds=0)
    assert gw.refund(command(500)) == gw.refund(command(500))
    assert gw.store.total_for_charge("ch_1") == 500


def test_same_key_other_amount_is_ambiguous():
    gw = SandboxGateway(delay_seconds=0)
    gw.refund(command(500))
    with pytest.raises(Ambiguous):
        gw.refund(command(600))


def test_fetch_unknown_key_is_none():
    assert SandboxGateway().fetch(command(500, "rf_never").query()) is None


def test_configured_amounts_are_declined():
    gw = SandboxGateway(decline_amounts=[4242], decline_endings=["13"])
    for amount in (4242, 1913, 113):
        with pytest.raises(Declined) as caught:
            gw.refund(command(amount, f"rf_{amount}"))
        assert "declines" in caught.value.reason
    assert gw.refund(command(1914, "rf_ok")).status == "pending"
    assert gw.fetch(command(4242, "rf_4242").query()) is None


def test_refunds_cannot_exceed_the_order_total():
    gw = SandboxGateway(delay_seconds=0)
    gw.refund(command(6000, "rf_1"))
    with pytest.raises(Declined) as caught:
        gw.refund(command(4001, "rf_2"))
    assert caught.value.gateway_code == "amount_exceeds_remaining"
    assert gw.refund(command(4000, "rf_3")).status == "succeeded"


def test_fail_endings_fail_after_the_delay():
    clock = Clock()
    gw = SandboxGateway(delay_seconds=1, fail_endings=["66"], clock=clock)
    assert gw.refund(command(166)).status == "pending"
    clock.now += 1
    failed = gw.fetch(command(166).query())
    assert failed.status == "failed" and failed.failure_reason


def test_ambiguous_endings_record_the_refund_then_fetch_finds_it():
    gw = SandboxGateway(delay_seconds=0, ambiguous_endings=["77"])
    with pytest.raises(Ambiguous):
        gw.refund(command(177))
    assert gw.fetch(command(177).query()).status == "succeeded"
    assert gw.refund(command(177)).status == "succeeded"  # a resend is answered from the record
    assert gw.store.total_for_charge("ch_1") == 177


def test_retryable_endings_fail_once_per_key():
    gw = SandboxGateway(delay_seconds=0, retryable_endings=["88"])
    with pytest.raises(Retryable):
        gw.refund(command(188))
    assert gw.fetch(command(188).query()) is None
    assert gw.refund(command(188)).status == "succeeded"


def test_injected_store_is_shared_between_instances():
    store = InMemoryStore()
    SandboxGateway(delay_seconds=0, store=store).refund(command(300))
    assert SandboxGateway(delay_seconds=0, store=store).fetch(command(300).query()).status == "succeeded"


def test_concurrent_sends_with_one_key_make_one_refund():
    gw = SandboxGateway(delay_seconds=0)
    barrier = threading.Barrier(8)

    def send(_: int):
        barrier.wait()
        return gw.refund(command(700))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(send, range(8)))
    assert len({r.gateway_ref for r in results}) == 1
    assert gw.store.total_for_charge("ch_1") == 700


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["rf_a", "rf_b", "rf_c"]), st.integers(1, 5000)), max_size=12))
def test_any_sequence_never_refunds_more_than_the_total(attempts):
    gw = SandboxGateway(delay_seconds=0)
    accepted: dict[str, int] = {}
    for key, amount in attempts:
        try:
            result = gw.refund(command(amount, key, total=6000))
        except (Declined, Ambiguous):
            continue
        accepted.setdefault(key, result.amount.minor)
        assert result.amount.minor == accepted[key]
    assert gw.store.total_for_charge("ch_1") == sum(accepted.values()) <= 6000


def test_sandbox_has_no_webhooks():
    gw = SandboxGateway()
    assert gw.supports_webhooks is False
    with pytest.raises(WebhookRejected):
        gw.parse_webhook({}, b"")


def test_manual_is_pending_and_calls_nothing():
    gw = ManualGateway(instructions="bank transfer within 5 business days")
    result = gw.refund(command(500))
    assert result.status == "pending" and result.gateway_ref is None and result.amount == Money(500, "CNY")
    assert gw.fetch(command(500).query()).status == "pending"
    assert gw.supports_webhooks is False
    with pytest.raises(WebhookRejected):
        gw.parse_webhook({}, b"")


def test_fetch_errors_are_never_declined_or_ambiguous():
    from refunddesk.payments.gateways.errors import GatewayConfigError, for_fetch

    for exc in (Declined("no", gateway="g", gateway_code="X"), Ambiguous("hm", gateway="g")):
        converted = for_fetch(exc)
        assert type(converted) is Retryable and converted.gateway == "g"
    config = GatewayConfigError("bad key")
    assert for_fetch(config) is config


@pytest.mark.parametrize(
    "kwargs",
    [
        {"idempotency_key": "has space"},
        {"idempotency_key": "x" * 65},
        {"idempotency_key": ""},
        {"charge_ref": ""},
        {"amount": Money(0, "CNY")},
        {"amount": Money(10_001, "CNY")},
        {"amount": Money(100, "USD")},
    ],
)
def test_bad_commands_are_refused_before_any_gateway_sees_them(kwargs):
    base = {
        "idempotency_key": "rf_1",
        "charge_ref": "ch_1",
        "amount": Money(100, "CNY"),
        "order_total": Money(10_000, "CNY"),
    }
    with pytest.raises(ValueError):
        RefundCommand(**{**base, **kwargs})

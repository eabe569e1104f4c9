"""The Stripe adapter against a fake Stripe API on 127.0.0.1 (real HTTP, the real SDK)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from refunddesk.core.money import Money
from refunddesk.payments.gateways.base import (
    CHARGE_REFUNDED,
    REFUND_FAILED,
    REFUND_SUCCEEDED,
    Gateway,
    RefundCommand,
)
from refunddesk.payments.gateways.errors import (
    Ambiguous,
    Declined,
    GatewayConfigError,
    Retryable,
    WebhookRejected,
)
from refunddesk.payments.gateways.stripe import StripeGateway
from tests.payments.conftest import CLIENT_TIMEOUT, SLOW
from tests.payments.fakes.server import closed_port
from tests.payments.fakes.stripe_fake import API_KEY, WEBHOOK_SECRET, Charge, StripeFake


def gateway(fake: StripeFake, **overrides) -> StripeGateway:
    options = {
        "api_key": API_KEY,
        "webhook_secret": WEBHOOK_SECRET,
        "api_base": fake.url,
        "timeout": CLIENT_TIMEOUT,
        **overrides,
    }
    return StripeGateway(**options)


def command(charge: Charge, amount: int, key: str = "rf_1", *, ref: str | None = None) -> RefundCommand:
    currency = charge.currency.upper()
    return RefundCommand(
        idempotency_key=key,
        charge_ref=ref or charge.payment_intent,
        amount=Money(amount, currency),
        order_total=Money(charge.amount, currency),
        reason="service outage",
    )


def test_it_satisfies_the_contract(stripe_fake):
    assert isinstance(gateway(stripe_fake), Gateway)


def test_refund_succeeds_and_the_fake_made_exactly_one(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    result = gateway(stripe_fake).refund(command(charge, 2000))

    assert result.status == "succeeded"
    assert result.amount == Money(2000, "USD")
    assert result.gateway_ref and result.gateway_ref.startswith("re_")
    assert stripe_fake.refund_count == 1
    made = stripe_fake.refunds[result.gateway_ref]
    assert made["amount"] == 2000
    assert made["metadata"] == {"refunddesk_refund_id": "rf_1", "refunddesk_reason": "service outage"}
    sent = [r for r in stripe_fake.server.requests if r.method == "POST"][0]
    assert sent.header("idempotency-key") == "rf_1"


def test_a_charge_id_is_sent_as_charge(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    result = gateway(stripe_fake).refund(command(charge, 700, ref=charge.id))
    assert result.status == "succeeded"
    assert b"charge=ch_fake" in [r for r in stripe_fake.server.requests if r.method == "POST"][0].body


def test_the_same_key_twice_makes_one_refund(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    gw = gateway(stripe_fake)
    first = gw.refund(command(charge, 2000))
    second = gw.refund(command(charge, 2000))
    assert first.gateway_ref == second.gateway_ref
    assert stripe_fake.refund_count == 1


def test_the_same_key_with_another_amount_is_ambiguous_not_a_second_refund(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    gw = gateway(stripe_fake)
    gw.refund(command(charge, 2000))
    with pytest.raises(Ambiguous):
        gw.refund(command(charge, 2500))
    found = gw.fetch(command(charge, 2500).query())
    assert found is not None and found.amount == Money(2000, "USD")
    assert stripe_fake.refund_count == 1


def test_503_is_retryable_and_the_retry_makes_one_refund(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    stripe_fake.faults.fail_5xx = 1
    gw = gateway(stripe_fake)
    with pytest.raises(Retryable) as caught:
        gw.refund(command(charge, 1000))
    assert caught.value.safe_to_resend
    assert stripe_fake.refund_count == 0
    assert gw.refund(command(charge, 1000)).status == "succeeded"
    assert stripe_fake.refund_count == 1


def test_500_is_ambiguous_because_stripe_says_its_outcome_is_indeterminate(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    stripe_fake.faults.fail_5xx, stripe_fake.faults.fail_status = 1, 500
    gw = gateway(stripe_fake)
    with pytest.raises(Ambiguous):
        gw.refund(command(charge, 1000))
    assert gw.fetch(command(charge, 1000).query()) is None  # settled: never made, safe to send
    assert stripe_fake.refund_count == 0


def test_rate_limit_is_retryable(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    stripe_fake.faults.fail_5xx, stripe_fake.faults.fail_status = 1, 429
    with pytest.raises(Retryable):
        gateway(stripe_fake).refund(command(charge, 1000))


def test_decline_carries_the_gateway_reason(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    stripe_fake.faults.decline = True
    with pytest.raises(Declined) as caught:
        gateway(stripe_fake).refund(command(charge, 1000))
    assert "too old to be refunded" in caught.value.reason
    assert caught.value.gateway_code == "charge_expired_for_refund"
    assert stripe_fake.refund_count == 0


def test_more_than_what_is_left_is_declined(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    gw = gateway(stripe_fake)
    gw.refund(command(charge, 4000, "rf_1"))
    with pytest.raises(Declined) as caught:
        gw.refund(command(charge, 1500, "rf_2"))
    assert caught.value.gateway_code == "amount_too_large"
    gw.refund(command(charge, 1000, "rf_3"))
    with pytest.raises(Declined) as caught:
        gw.refund(command(charge, 1, "rf_4"))
    assert caught.value.gateway_code == "charge_already_refunded"
    assert stripe_fake.refund_count == 2


def test_slow_answer_is_ambiguous_and_fetch_finds_the_one_refund(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    stripe_fake.faults.slow = SLOW
    gw = gateway(stripe_fake)
    started = time.monotonic()
    with pytest.raises(Ambiguous) as caught:
        gw.refund(command(charge, 2000))
    assert time.monotonic() - started < SLOW
    assert not caught.value.safe_to_resend
    found = gw.fetch(command(charge, 2000).query())
    assert found is not None and found.status == "succeeded" and found.amount == Money(2000, "USD")
    assert stripe_fake.refund_count == 1


def test_connection_dropped_after_refund_is_ambiguous_and_fetch_settles_it(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    stripe_fake.faults.drop_after_refund = 1
    gw = gateway(stripe_fake)
    with pytest.raises(Ambiguous):
        gw.refund(command(charge, 2000))
    found = gw.fetch(command(charge, 2000).query())
    assert found is not None and found.status == "succeeded"
    by_ref = gw.fetch(command(charge, 2000).query(gateway_ref=found.gateway_ref))
    assert by_ref == found
    assert stripe_fake.refund_count == 1


def test_connection_refused_is_retryable():
    gw = StripeGateway(api_key=API_KEY, api_base=f"http://127.0.0.1:{closed_port()}", timeout=CLIENT_TIMEOUT)
    charge = Charge(id="ch_x", payment_intent="pi_x", amount=5000, currency="usd")
    with pytest.raises(Retryable):
        gw.refund(command(charge, 100))
    with pytest.raises(Retryable):
        gw.fetch(command(charge, 100).query())


def test_wrong_api_key_is_a_configuration_error(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    with pytest.raises(GatewayConfigError):
        gateway(stripe_fake, api_key="sk_test_wrong").refund(command(charge, 100))


def test_fetch_returns_none_for_an_unknown_key_and_never_creates(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    gw = gateway(stripe_fake)
    gw.refund(command(charge, 100, "rf_other"))
    assert gw.fetch(command(charge, 100, "rf_never").query()) is None
    missing = Charge(id="ch_missing", payment_intent="pi_missing", amount=5000, currency="usd")
    assert gw.fetch(command(missing, 100).query()) is None
    assert stripe_fake.refund_count == 1


def test_fetch_by_a_gateway_ref_of_another_refund_falls_back_to_our_key(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    gw = gateway(stripe_fake)
    ours = gw.refund(command(charge, 100, "rf_ours"))
    theirs = stripe_fake.dashboard_refund(charge, 200)
    other = gw.refund(command(charge, 300, "rf_other"))
    assert gw.fetch(command(charge, 100, "rf_ours").query(gateway_ref=other.gateway_ref)) == ours
    assert gw.fetch(command(charge, 100, "rf_ours").query(gateway_ref="re_unknown")) == ours
    assert gw.fetch(command(charge, 200, "rf_none").query(gateway_ref=theirs["id"])).gateway_ref == theirs["id"]


def test_fetch_pages_through_many_refunds(stripe_fake):
    charge = stripe_fake.add_charge(100_000)
    gw = gateway(stripe_fake)
    for n in range(105):
        stripe_fake.dashboard_refund(charge, 1) if n else gw.refund(command(charge, 1, "rf_first"))
    found = gw.fetch(command(charge, 1, "rf_first").query())
    assert found is not None and found.raw["metadata"]["refunddesk_refund_id"] == "rf_first"


def test_pending_refund_then_succeeded_on_fetch(stripe_fake):
    stripe_fake.refund_status = "pending"
    charge = stripe_fake.add_charge(5000)
    gw = gateway(stripe_fake)
    result = gw.refund(command(charge, 2000))
    assert result.status == "pending"
    stripe_fake.set_status(result.gateway_ref, "succeeded")
    assert gw.fetch(command(charge, 2000).query(result.gateway_ref)).status == "succeeded"
    stripe_fake.set_status(result.gateway_ref, "failed", "expired_or_canceled_card")
    failed = gw.fetch(command(charge, 2000).query())
    assert failed.status == "failed" and failed.failure_reason == "expired_or_canceled_card"


# --- webhooks ---------------------------------------------------------------------------


def test_webhook_for_our_refund(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    gw = gateway(stripe_fake)
    result = gw.refund(command(charge, 2000))
    headers, body = stripe_fake.signed_notification(result.gateway_ref, event_type="refund.updated")
    [event] = gw.parse_webhook(headers, body)
    assert event.kind == REFUND_SUCCEEDED
    assert event.event_id.startswith("evt_")
    assert event.idempotency_key == "rf_1"
    assert event.gateway_ref == result.gateway_ref
    assert event.charge_ref == charge.id
    assert event.charge_refs == (charge.id, charge.payment_intent)
    assert event.amount == Money(2000, "USD")
    assert event.occurred_at.tzinfo is not None


def test_webhook_headers_are_case_insensitive(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    refund = stripe_fake.dashboard_refund(charge, 100)
    headers, body = stripe_fake.signed_notification(refund["id"])
    assert gateway(stripe_fake).parse_webhook({"stripe-signature": headers["Stripe-Signature"]}, body)
    assert gateway(stripe_fake).parse_webhook({"HTTP_STRIPE_SIGNATURE": headers["Stripe-Signature"]}, body)


def test_failed_refund_webhook(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    refund = stripe_fake.dashboard_refund(charge, 100)
    stripe_fake.set_status(refund["id"], "failed", "lost_or_stolen_card")
    [event] = gateway(stripe_fake).parse_webhook(*stripe_fake.signed_notification(refund["id"], event_type="refund.failed"))
    assert event.kind == REFUND_FAILED and event.failure_reason == "lost_or_stolen_card"


def test_dashboard_refund_shows_up_without_our_key(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    refund = stripe_fake.dashboard_refund(charge, 1500)
    [event] = gateway(stripe_fake).parse_webhook(*stripe_fake.signed_notification(refund["id"], event_type="refund.created"))
    assert event.idempotency_key is None
    assert event.gateway_ref == refund["id"]
    assert event.charge_ref == charge.id and charge.payment_intent in event.charge_refs
    assert event.amount == Money(1500, "USD")


def test_charge_refunded_summary(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    stripe_fake.dashboard_refund(charge, 1500)
    stripe_fake.dashboard_refund(charge, 500)
    [event] = gateway(stripe_fake).parse_webhook(
        *stripe_fake.signed_notification(event_type="charge.refunded", charge=charge)
    )
    assert event.kind == CHARGE_REFUNDED
    assert event.gateway_ref is None and event.charge_ref == charge.id
    assert event.charge_refs == (charge.id, charge.payment_intent)
    assert event.amount == Money(2000, "USD")


def test_unrelated_verified_event_yields_nothing(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    refund = stripe_fake.dashboard_refund(charge, 100)
    headers, body = stripe_fake.signed_notification(refund["id"], event_type="customer.created")
    assert gateway(stripe_fake).parse_webhook(headers, body) == []


def test_bad_signature_is_rejected(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    refund = stripe_fake.dashboard_refund(charge, 100)
    headers, body = stripe_fake.signed_notification(refund["id"], secret="whsec_someone_else")
    with pytest.raises(WebhookRejected):
        gateway(stripe_fake).parse_webhook(headers, body)
    good_headers, good_body = stripe_fake.signed_notification(refund["id"])
    with pytest.raises(WebhookRejected):
        gateway(stripe_fake).parse_webhook(good_headers, good_body.replace(b'"amount": 100', b'"amount": 9999'))
    with pytest.raises(WebhookRejected):
        gateway(stripe_fake).parse_webhook({}, good_body)


def test_stale_and_future_timestamps_are_rejected(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    refund = stripe_fake.dashboard_refund(charge, 100)
    gw = gateway(stripe_fake)
    stale = stripe_fake.signed_notification(refund["id"], timestamp=int(time.time()) - 301)
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(*stale)
    future = stripe_fake.signed_notification(refund["id"], timestamp=int(time.time()) + 301)
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(*future)
    # `now` is what the timestamp is compared with:
    headers, body = stripe_fake.signed_notification(refund["id"], timestamp=1_700_000_000)
    at = datetime.fromtimestamp(1_700_000_000, UTC) + timedelta(seconds=299)
    assert gw.parse_webhook(headers, body, now=at)


def test_webhook_secret_rotation_accepts_either_secret(stripe_fake):
    charge = stripe_fake.add_charge(5000)
    refund = stripe_fake.dashboard_refund(charge, 100)
    gw = gateway(stripe_fake, webhook_secret=["whsec_new", WEBHOOK_SECRET])
    assert gw.parse_webhook(*stripe_fake.signed_notification(refund["id"]))


def test_webhooks_without_a_secret_are_not_configured(stripe_fake):
    gw = gateway(stripe_fake, webhook_secret=None)
    assert gw.supports_webhooks is False
    with pytest.raises(GatewayConfigError):
        gw.parse_webhook({"Stripe-Signature": "t=1,v1=x"}, b"{}")


# --- amounts in Stripe's unit (issue 13.1) -----------------------------------------------


def test_every_currency_stripe_accepts_crosses_both_ways_exactly():
    """Money -> Stripe's unit -> Money is the identity for every presentment currency, and so is
    Stripe's unit -> Money -> Stripe's unit for every amount Stripe accepts in it."""
    from refunddesk.core.money import exponent
    from refunddesk.payments.gateways.stripe import (
        STRIPE_CURRENCIES,
        STRIPE_THREE_DECIMAL,
        from_stripe_amount,
        stripe_exponent,
        to_stripe_amount,
    )

    assert len(STRIPE_CURRENCIES) > 130
    for currency in sorted(STRIPE_CURRENCIES):
        step = 10 if currency in STRIPE_THREE_DECIMAL else 1
        for minor in (step, 7 * step, 500 * step, 123_456 * step, 10**12 * step):
            money = Money(minor, currency)
            sent = to_stripe_amount(money)
            assert from_stripe_amount(sent, currency.lower()) == money, currency
            # the same value: Stripe's unit has stripe_exponent decimals, Money's has exponent
            assert sent * 10 ** exponent(currency) == minor * 10 ** stripe_exponent(currency), currency
        unit = 10 ** max(stripe_exponent(currency) - exponent(currency), 0)
        for amount in (unit * step, 3 * unit * step, 99_000 * unit * step):
            assert to_stripe_amount(from_stripe_amount(amount, currency)) == amount, currency


def test_the_documented_special_cases():
    from refunddesk.payments.gateways.stripe import StripeAmountError, from_stripe_amount, to_stripe_amount

    # docs.stripe.com/currencies#special-cases: "to charge 5 ISK, provide an amount value of 500"
    assert to_stripe_amount(Money(5, "ISK")) == 500 and to_stripe_amount(Money(500, "UGX")) == 50000
    assert from_stripe_amount(50000, "isk") == Money(500, "ISK")
    assert to_stripe_amount(Money(500, "JPY")) == 500 and to_stripe_amount(Money(1999, "USD")) == 1999
    assert to_stripe_amount(Money(5120, "KWD")) == 5120  # 5.120 KWD
    with pytest.raises(StripeAmountError):
        to_stripe_amount(Money(5124, "KWD"))  # Stripe wants the last digit 0
    with pytest.raises(StripeAmountError):
        from_stripe_amount(50050, "isk")  # not a whole krona: refused, never rounded
    with pytest.raises(StripeAmountError):
        to_stripe_amount(Money(100, "KPW"))  # not a Stripe currency


@pytest.mark.parametrize("currency", ["isk", "ugx"])
def test_a_refund_of_500_is_500_at_stripe_and_read_back_as_500(stripe_fake, currency):
    charge = stripe_fake.add_charge(100_000, currency)  # 1,000 ISK / UGX in Stripe's unit
    gw = gateway(stripe_fake)
    result = gw.refund(command(charge, 500))  # Money(500, "ISK"): five hundred kronur
    made = stripe_fake.refunds[result.gateway_ref]
    assert made["amount"] == 50000  # Stripe's unit: 500.00
    assert result.amount == Money(500, currency.upper())
    assert gw.fetch(command(charge, 500).query(result.gateway_ref)).amount == Money(500, currency.upper())
    [event] = gw.parse_webhook(*stripe_fake.signed_notification(result.gateway_ref))
    assert event.amount == Money(500, currency.upper())
    [summary] = gw.parse_webhook(*stripe_fake.signed_notification(event_type="charge.refunded", charge=charge))
    assert summary.amount == Money(500, currency.upper())


def test_a_currency_cldr_counts_without_decimals_is_converted_too(stripe_fake):
    """Same kind: Lao kip has no minor unit in CLDR (Money) but two decimals in Stripe's API."""
    charge = stripe_fake.add_charge(2_000_000, "lak")  # 20,000 LAK
    result = gateway(stripe_fake).refund(command(charge, 15000))
    assert stripe_fake.refunds[result.gateway_ref]["amount"] == 1_500_000
    assert result.amount == Money(15000, "LAK")


def test_an_amount_stripe_cannot_take_is_declined_before_anything_is_sent(stripe_fake):
    charge = stripe_fake.add_charge(10_000, "kwd")  # 10.000 KWD
    with pytest.raises(Declined) as caught:
        gateway(stripe_fake).refund(command(charge, 1234))  # 1.234 KWD
    assert caught.value.gateway_code == "amount_not_representable" and "0.010" in caught.value.reason
    assert not [r for r in stripe_fake.server.requests if r.method == "POST"]

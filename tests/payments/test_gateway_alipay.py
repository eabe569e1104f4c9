"""The Alipay adapter (python-alipay-sdk) against a fake Alipay gateway on 127.0.0.1."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qsl

import pytest
from cryptography.hazmat.primitives import serialization

from refunddesk.core.money import Money
from refunddesk.payments.gateways.alipay import AlipayGateway
from refunddesk.payments.gateways.base import REFUND_SUCCEEDED, Gateway, RefundCommand
from refunddesk.payments.gateways.errors import (
    Ambiguous,
    Declined,
    GatewayConfigError,
    Retryable,
    WebhookRejected,
)
from tests.payments.conftest import CLIENT_TIMEOUT, SLOW
from tests.payments.fakes.alipay_fake import APP_ID, AlipayFake, Trade
from tests.payments.fakes.server import closed_port


@pytest.fixture
def make_gateway(merchant_keys, gateway_keys):
    def make(fake: AlipayFake | None = None, **overrides) -> AlipayGateway:
        options = {
            "app_id": APP_ID,
            "app_private_key": merchant_keys.private_pem,
            "alipay_public_key": gateway_keys.public_pem,
            "gateway_url": fake.url if fake else f"http://127.0.0.1:{closed_port()}/gateway.do",
            "timeout": CLIENT_TIMEOUT,
            **overrides,
        }
        return AlipayGateway(**options)

    return make


def command(trade: Trade, fen: int, key: str = "rf_1", *, ref: str | None = None) -> RefundCommand:
    return RefundCommand(
        idempotency_key=key,
        charge_ref=ref or trade.out_trade_no,
        amount=Money(fen, "CNY"),
        order_total=Money(trade.total, "CNY"),
        reason="服务中断",
    )


def test_it_satisfies_the_contract(make_gateway, alipay_fake):
    assert isinstance(make_gateway(alipay_fake), Gateway)


def test_refund_succeeds_and_the_fake_made_exactly_one(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    result = make_gateway(alipay_fake).refund(command(trade, 1990))
    assert result.status == "succeeded"
    assert result.amount == Money(1990, "CNY")
    assert result.gateway_ref == f"{trade.trade_no}:rf_1"
    assert alipay_fake.refund_count == 1
    assert alipay_fake.refunds[0].amount == 1990 and alipay_fake.refunds[0].out_request_no == "rf_1"
    sent = dict(parse_qsl(alipay_fake.server.requests[0].body.decode()))
    assert sent["method"] == "alipay.trade.refund" and sent["sign_type"] == "RSA2"
    assert '"refund_amount":"19.90"' in sent["biz_content"]


def test_trade_no_prefix_selects_alipays_number(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    result = make_gateway(alipay_fake).refund(command(trade, 100, ref=f"trade_no:{trade.trade_no}"))
    assert result.status == "succeeded"
    assert '"trade_no"' in dict(parse_qsl(alipay_fake.server.requests[0].body.decode()))["biz_content"]


def test_the_same_out_request_no_twice_makes_one_refund(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    gw = make_gateway(alipay_fake)
    first = gw.refund(command(trade, 1990))
    second = gw.refund(command(trade, 1990))  # fund_change N -> confirmed by the refund query
    assert second.status == "succeeded" and second.amount == first.amount
    assert second.gateway_ref == first.gateway_ref
    assert alipay_fake.refund_count == 1


def test_the_same_out_request_no_with_another_amount_is_ambiguous(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    gw = make_gateway(alipay_fake)
    gw.refund(command(trade, 1990))
    with pytest.raises(Ambiguous) as caught:
        gw.refund(command(trade, 2990))
    assert caught.value.gateway_code == "ACQ.DISCORDANT_REPEAT_REQUEST"
    assert gw.fetch(command(trade, 2990).query()).amount == Money(1990, "CNY")
    assert alipay_fake.refund_count == 1


def test_http_5xx_is_retryable(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    alipay_fake.faults.fail_5xx = 1
    gw = make_gateway(alipay_fake)
    with pytest.raises(Retryable):
        gw.refund(command(trade, 1990))
    assert alipay_fake.refund_count == 0
    assert gw.refund(command(trade, 1990)).status == "succeeded"
    assert alipay_fake.refund_count == 1


def test_acq_system_error_is_retryable_with_the_same_out_request_no(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    alipay_fake.system_errors = 1
    gw = make_gateway(alipay_fake)
    with pytest.raises(Retryable) as caught:
        gw.refund(command(trade, 1990))
    assert caught.value.gateway_code == "ACQ.SYSTEM_ERROR"
    assert gw.refund(command(trade, 1990)).status == "succeeded"
    assert alipay_fake.refund_count == 1


def test_decline_carries_alipays_reason(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    alipay_fake.faults.decline = True
    with pytest.raises(Declined) as caught:
        make_gateway(alipay_fake).refund(command(trade, 1990))
    assert caught.value.reason == "卖家余额不足"
    assert caught.value.gateway_code == "ACQ.SELLER_BALANCE_NOT_ENOUGH"
    assert alipay_fake.refund_count == 0


def test_more_than_what_is_left_is_declined(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    gw = make_gateway(alipay_fake)
    gw.refund(command(trade, 9000, "rf_1"))
    with pytest.raises(Declined) as caught:
        gw.refund(command(trade, 901, "rf_2"))
    assert caught.value.gateway_code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    gw.refund(command(trade, 900, "rf_3"))
    with pytest.raises(Declined) as caught:
        gw.refund(command(trade, 1, "rf_4"))
    assert caught.value.gateway_code == "ACQ.TRADE_HAS_CLOSED"
    assert alipay_fake.refund_count == 2


def test_unknown_trade_is_declined(make_gateway, alipay_fake):
    ghost = Trade(out_trade_no="NOPE", trade_no="0", total=100)
    with pytest.raises(Declined) as caught:
        make_gateway(alipay_fake).refund(command(ghost, 100))
    assert caught.value.gateway_code == "ACQ.TRADE_NOT_EXIST"
    assert make_gateway(alipay_fake).fetch(command(ghost, 100).query()) is None


def test_slow_answer_is_ambiguous_and_fetch_finds_the_one_refund(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    alipay_fake.faults.slow = SLOW
    gw = make_gateway(alipay_fake)
    started = time.monotonic()
    with pytest.raises(Ambiguous):
        gw.refund(command(trade, 1990))
    assert time.monotonic() - started < SLOW
    found = gw.fetch(command(trade, 1990).query())
    assert found is not None and found.status == "succeeded" and found.amount == Money(1990, "CNY")
    assert alipay_fake.refund_count == 1


def test_connection_dropped_after_refund_is_ambiguous_and_fetch_settles_it(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    alipay_fake.faults.drop_after_refund = 1
    gw = make_gateway(alipay_fake)
    with pytest.raises(Ambiguous):
        gw.refund(command(trade, 1990))
    found = gw.fetch(command(trade, 1990).query())
    assert found is not None and found.status == "succeeded"
    assert alipay_fake.refund_count == 1


def test_fetch_unknown_out_request_no_is_none(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    gw = make_gateway(alipay_fake)
    gw.refund(command(trade, 100, "rf_other"))
    assert gw.fetch(command(trade, 100, "rf_never").query()) is None
    assert alipay_fake.refund_count == 1


def test_connection_refused_is_retryable(make_gateway):
    trade = Trade(out_trade_no="X", trade_no="1", total=100)
    gw = make_gateway(None)
    with pytest.raises(Retryable):
        gw.refund(command(trade, 100))
    with pytest.raises(Retryable):
        gw.fetch(command(trade, 100).query())


def test_wrong_app_key_is_a_configuration_error(make_gateway, alipay_fake, stranger_keys):
    trade = alipay_fake.add_trade(9900)
    with pytest.raises(GatewayConfigError) as caught:
        make_gateway(alipay_fake, app_private_key=stranger_keys.private_pem).refund(command(trade, 100))
    assert caught.value.gateway_code == "isv.invalid-signature"
    assert alipay_fake.refund_count == 0


def test_answer_signed_by_someone_else_is_not_trusted(make_gateway, alipay_fake, stranger_keys):
    trade = alipay_fake.add_trade(9900)
    gw = make_gateway(alipay_fake, alipay_public_key=stranger_keys.public_pem)
    with pytest.raises(Ambiguous):
        gw.refund(command(trade, 100))
    with pytest.raises(Retryable):
        gw.fetch(command(trade, 100).query())


def test_only_the_configured_currency(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    usd = RefundCommand(
        idempotency_key="rf_1", charge_ref=trade.out_trade_no, amount=Money(100, "USD"), order_total=Money(9900, "USD")
    )
    with pytest.raises(Declined):
        make_gateway(alipay_fake).refund(usd)
    assert alipay_fake.server.requests == []


def test_bare_base64_keys_from_alipays_key_tool_are_accepted(make_gateway, alipay_fake, merchant_keys, gateway_keys):
    der_private = merchant_keys.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    der_public = gateway_keys.private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    gw = make_gateway(
        alipay_fake,
        app_private_key=base64.b64encode(der_private).decode(),
        alipay_public_key=base64.b64encode(der_public).decode(),
    )
    trade = alipay_fake.add_trade(9900)
    assert gw.refund(command(trade, 100)).status == "succeeded"


def test_missing_or_broken_keys_are_configuration_errors(make_gateway):
    with pytest.raises(GatewayConfigError):
        make_gateway(None, app_private_key="")
    with pytest.raises(GatewayConfigError):
        make_gateway(None, alipay_public_key="not a key")


# --- notifications ------------------------------------------------------------------------


def test_refund_notification(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    make_gateway(alipay_fake).refund(command(trade, 1990))
    headers, body = alipay_fake.signed_notification(alipay_fake.refunds[0])
    [event] = make_gateway(alipay_fake).parse_webhook(headers, body)
    assert event.kind == REFUND_SUCCEEDED
    assert event.idempotency_key == "rf_1"
    assert event.gateway_ref == f"{trade.trade_no}:rf_1"
    assert event.charge_ref == trade.out_trade_no
    assert event.charge_refs == (
        trade.out_trade_no, trade.trade_no, f"out_trade_no:{trade.out_trade_no}", f"trade_no:{trade.trade_no}"
    )
    assert event.amount is None and event.raw["refund_fee"] == "19.90"
    assert event.event_id.startswith("ac05")
    assert event.raw["subject"] == "会员月费"


def test_console_refund_shows_up_with_a_number_we_never_issued(make_gateway, alipay_fake):
    trade = alipay_fake.add_trade(9900)
    refund = alipay_fake.dashboard_refund(trade, 500)
    [event] = make_gateway(alipay_fake).parse_webhook(*alipay_fake.signed_notification(refund))
    assert event.idempotency_key == refund.out_request_no and event.idempotency_key.startswith("CONSOLE")
    assert event.gateway_ref == f"{trade.trade_no}:{refund.out_request_no}"
    assert event.charge_ref == trade.out_trade_no


def test_forged_or_tampered_notifications_are_rejected(make_gateway, alipay_fake, stranger_keys):
    trade = alipay_fake.add_trade(9900)
    refund = alipay_fake.dashboard_refund(trade, 500)
    gw = make_gateway(alipay_fake)
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(*alipay_fake.signed_notification(refund, key=stranger_keys.private_key))
    headers, body = alipay_fake.signed_notification(refund)
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(headers, body.replace(b"refund_fee=5.00", b"refund_fee=99.00"))
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(headers, b"&".join(p for p in body.split(b"&") if not p.startswith(b"sign=")))
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(*alipay_fake.signed_notification(refund, app_id="2021000000009999"))
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(headers, b"\xff\xfe")


# --- a refund made in Alipay's merchant console, end to end through /webhooks/alipay/ ----------


@pytest.mark.django_db
def test_a_console_refund_is_recorded_on_its_order_with_the_amount_alipay_answers(alipay_configured):
    from django.test import Client

    from refunddesk.payments.models import Refund
    from tests.factories import OrderFactory
    from tests.tasks import run_tasks

    trade = alipay_configured.add_trade(9900)
    order = OrderFactory(gateway="alipay", gateway_charge_ref=trade.out_trade_no, amount_minor=9900)
    alipay_configured.dashboard_refund(trade, 1200)  # an earlier one: the notification's refund_fee is the total
    later = alipay_configured.dashboard_refund(trade, 500)
    headers, body = alipay_configured.signed_notification(later)
    response = Client().post("/webhooks/alipay/", data=body, content_type=headers["Content-Type"])
    assert response.status_code == 200
    assert not Refund.objects.exists()  # the amount is asked of Alipay by the worker, never inside the webhook
    run_tasks()
    refund = Refund.objects.get()
    assert (refund.origin, refund.amount_minor, refund.status) == ("gateway_dashboard", 500, "succeeded")
    order.refresh_from_db()
    assert order.refunded_minor == 500
    # the same notification again changes nothing
    Client().post("/webhooks/alipay/", data=body, content_type=headers["Content-Type"])
    run_tasks()
    assert Refund.objects.count() == 1


# --- freshness (issue 13.11) --------------------------------------------------------------------


def test_a_signed_notification_dated_years_ago_is_refused(make_gateway, alipay_fake):
    from datetime import datetime, timedelta

    from refunddesk.payments.gateways.alipay import CHINA

    trade = alipay_fake.add_trade(2990)
    made = alipay_fake.dashboard_refund(trade, 990)
    gw = make_gateway(alipay_fake)
    old = alipay_fake.signed_notification(made, sent_at=datetime.now(CHINA) - timedelta(days=3 * 365))
    with pytest.raises(WebhookRejected, match="outside the accepted window"):
        gw.parse_webhook(*old)
    # Alipay re-sends an unanswered notification for about 25 hours: a retry a day later is still taken
    retried = alipay_fake.signed_notification(made, sent_at=datetime.now(CHINA) - timedelta(hours=24, minutes=30))
    assert gw.parse_webhook(*retried)


def test_a_notification_dated_in_the_future_is_refused(make_gateway, alipay_fake):
    from datetime import datetime, timedelta

    from refunddesk.payments.gateways.alipay import CHINA

    trade = alipay_fake.add_trade(2990)
    made = alipay_fake.dashboard_refund(trade, 990)
    ahead = alipay_fake.signed_notification(made, sent_at=datetime.now(CHINA) + timedelta(days=2))
    with pytest.raises(WebhookRejected):
        make_gateway(alipay_fake).parse_webhook(*ahead)


@pytest.mark.django_db
def test_an_old_notification_replayed_to_the_endpoint_records_nothing(alipay_configured):
    from datetime import datetime, timedelta

    from django.test import Client

    from refunddesk.payments.gateways.alipay import CHINA
    from refunddesk.payments.models import Refund, WebhookReceipt
    from tests.factories import OrderFactory
    from tests.tasks import run_tasks

    trade = alipay_configured.add_trade(9900)
    OrderFactory(gateway="alipay", gateway_charge_ref=trade.out_trade_no, amount_minor=9900)
    made = alipay_configured.dashboard_refund(trade, 1200)
    headers, body = alipay_configured.signed_notification(made, sent_at=datetime.now(CHINA) - timedelta(days=800))
    response = Client().post("/webhooks/alipay/", data=body, content_type=headers["Content-Type"])
    assert response.status_code == 400 and response.content == b"fail"
    run_tasks()
    assert not Refund.objects.exists() and not WebhookReceipt.objects.exists()

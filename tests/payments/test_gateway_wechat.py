"""The WeChat Pay v3 adapter against a fake WeChat Pay API on 127.0.0.1."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from refunddesk.core.money import Money
from refunddesk.payments.gateways.base import REFUND_ABNORMAL, REFUND_SUCCEEDED, Gateway, RefundCommand
from refunddesk.payments.gateways.errors import (
    Ambiguous,
    Declined,
    GatewayConfigError,
    Retryable,
    WebhookRejected,
)
from refunddesk.payments.gateways.wechatpay import WeChatPayGateway
from tests.payments.conftest import CLIENT_TIMEOUT, SLOW
from tests.payments.fakes.server import closed_port
from tests.payments.fakes.wechat_fake import (
    APIV3_KEY,
    MCHID,
    MERCHANT_SERIAL,
    PLATFORM_KEY_ID,
    WeChatFake,
    WxTrade,
)


@pytest.fixture
def make_gateway(merchant_keys, gateway_keys):
    def make(fake: WeChatFake | None = None, **overrides) -> WeChatPayGateway:
        options = {
            "mchid": MCHID,
            "merchant_serial_no": MERCHANT_SERIAL,
            "merchant_private_key": merchant_keys.private_pem,
            "apiv3_key": APIV3_KEY,
            "platform_public_key": gateway_keys.public_pem,
            "platform_public_key_id": PLATFORM_KEY_ID,
            "api_base": fake.url if fake else f"http://127.0.0.1:{closed_port()}",
            "timeout": CLIENT_TIMEOUT,
            **overrides,
        }
        return WeChatPayGateway(**options)

    return make


def command(trade: WxTrade, fen: int, key: str = "rf_1", *, ref: str | None = None, notify: str | None = None):
    return RefundCommand(
        idempotency_key=key,
        charge_ref=ref or trade.out_trade_no,
        amount=Money(fen, "CNY"),
        order_total=Money(trade.total, "CNY"),
        reason="服务中断",
        notify_url=notify,
    )


def posts(fake: WeChatFake):
    return [r for r in fake.server.requests if r.method == "POST"]


def test_it_satisfies_the_contract(make_gateway, wechat_fake):
    assert isinstance(make_gateway(wechat_fake), Gateway)


def test_refund_is_accepted_and_the_fake_made_exactly_one(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    result = make_gateway(wechat_fake).refund(command(trade, 990, notify="https://desk.example/webhooks/wechat_pay/"))
    assert result.status == "pending"  # WeChat answers PROCESSING; the notification or a query settles it
    assert result.amount == Money(990, "CNY")
    assert result.gateway_ref == wechat_fake.refunds["rf_1"]["refund_id"]
    assert wechat_fake.refund_count == 1
    sent = json.loads(posts(wechat_fake)[0].body)
    assert sent == {
        "out_trade_no": trade.out_trade_no,
        "out_refund_no": "rf_1",
        "amount": {"refund": 990, "total": 2990, "currency": "CNY"},
        "reason": "服务中断",
        "notify_url": "https://desk.example/webhooks/wechat_pay/",
    }
    assert posts(wechat_fake)[0].header("authorization").startswith('WECHATPAY2-SHA256-RSA2048 mchid="1900000109"')


def test_processing_then_success_on_fetch(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    gw = make_gateway(wechat_fake)
    gw.refund(command(trade, 990))
    assert gw.fetch(command(trade, 990).query()).status == "pending"
    wechat_fake.complete("rf_1")
    assert gw.fetch(command(trade, 990).query()).status == "succeeded"


def test_abnormal_refund_waits_for_the_merchant_and_may_still_succeed(make_gateway, wechat_fake):
    """ABNORMAL (the buyer's card was closed) is not final: once the merchant re-routes it in the merchant
    platform, WeChat Pay reports SUCCESS for the same out_refund_no."""
    trade = wechat_fake.add_trade(2990)
    gw = make_gateway(wechat_fake)
    gw.refund(command(trade, 990))
    wechat_fake.complete("rf_1", "ABNORMAL")
    abnormal = gw.fetch(command(trade, 990).query())
    assert abnormal.status == "abnormal" and not abnormal.final and "ABNORMAL" in abnormal.failure_reason
    assert abnormal.idempotency_key == "rf_1"
    wechat_fake.complete("rf_1", "SUCCESS")
    assert gw.fetch(command(trade, 990).query()).status == "succeeded"


def test_transaction_id_prefix(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    make_gateway(wechat_fake).refund(command(trade, 990, ref=f"transaction_id:{trade.transaction_id}"))
    assert json.loads(posts(wechat_fake)[0].body)["transaction_id"] == trade.transaction_id


def test_the_same_out_refund_no_twice_makes_one_refund(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    gw = make_gateway(wechat_fake)
    first = gw.refund(command(trade, 990))
    second = gw.refund(command(trade, 990))
    assert first.gateway_ref == second.gateway_ref
    assert wechat_fake.refund_count == 1


def test_the_same_out_refund_no_with_another_amount_is_ambiguous(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    gw = make_gateway(wechat_fake)
    gw.refund(command(trade, 990))
    with pytest.raises(Ambiguous) as caught:
        gw.refund(command(trade, 1000))
    assert caught.value.gateway_code == "idempotency_mismatch"
    assert wechat_fake.refund_count == 1


def test_5xx_system_error_is_retryable(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    wechat_fake.faults.fail_5xx = 2
    gw = make_gateway(wechat_fake)
    for _ in range(2):
        with pytest.raises(Retryable) as caught:
            gw.refund(command(trade, 990))
        assert caught.value.gateway_code == "SYSTEM_ERROR"
    assert gw.refund(command(trade, 990)).status == "pending"
    assert wechat_fake.refund_count == 1


def test_frequency_limit_is_retryable(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    wechat_fake.faults.fail_5xx, wechat_fake.faults.fail_status = 1, 429
    with pytest.raises(Retryable):
        make_gateway(wechat_fake).refund(command(trade, 990))


def test_decline_carries_wechats_message(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    wechat_fake.faults.decline = True
    with pytest.raises(Declined) as caught:
        make_gateway(wechat_fake).refund(command(trade, 990))
    assert caught.value.gateway_code == "NOT_ENOUGH"
    assert "余额不足" in caught.value.reason
    assert wechat_fake.refund_count == 0


def test_more_than_what_is_left_is_declined(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    gw = make_gateway(wechat_fake)
    gw.refund(command(trade, 2000, "rf_1"))
    with pytest.raises(Declined) as caught:
        gw.refund(command(trade, 991, "rf_2"))
    assert "超过订单可退金额" in caught.value.reason
    gw.refund(command(trade, 990, "rf_3"))
    with pytest.raises(Declined) as caught:
        gw.refund(command(trade, 1, "rf_4"))
    assert caught.value.reason == "订单已全额退款"
    assert wechat_fake.refund_count == 2


def test_unknown_trade_is_declined(make_gateway, wechat_fake):
    ghost = WxTrade(out_trade_no="NOPE", transaction_id="0", total=100)
    with pytest.raises(Declined) as caught:
        make_gateway(wechat_fake).refund(command(ghost, 100))
    assert caught.value.gateway_code == "RESOURCE_NOT_EXISTS"


def test_slow_answer_is_ambiguous_and_fetch_finds_the_one_refund(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    wechat_fake.faults.slow = SLOW
    gw = make_gateway(wechat_fake)
    started = time.monotonic()
    with pytest.raises(Ambiguous):
        gw.refund(command(trade, 990))
    assert time.monotonic() - started < SLOW
    found = gw.fetch(command(trade, 990).query())
    assert found is not None and found.amount == Money(990, "CNY")
    assert wechat_fake.refund_count == 1


def test_connection_dropped_after_refund_is_ambiguous_and_fetch_settles_it(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    wechat_fake.faults.drop_after_refund = 1
    gw = make_gateway(wechat_fake)
    with pytest.raises(Ambiguous):
        gw.refund(command(trade, 990))
    wechat_fake.complete("rf_1")
    found = gw.fetch(command(trade, 990).query())
    assert found is not None and found.status == "succeeded"
    assert wechat_fake.refund_count == 1


def test_keys_with_url_special_characters_round_trip(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    gw = make_gateway(wechat_fake)
    gw.refund(command(trade, 990, "rd|42@x*y"))
    assert gw.fetch(command(trade, 990, "rd|42@x*y").query()).amount == Money(990, "CNY")


def test_http_notify_url_is_not_sent(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    result = make_gateway(wechat_fake).refund(command(trade, 990, notify="http://localhost:8000/webhooks/wechat_pay/"))
    assert result.status == "pending"
    assert "notify_url" not in json.loads(posts(wechat_fake)[0].body)


def test_a_refused_query_is_retryable_never_declined(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    wechat_fake.query_error = (400, "PARAM_ERROR", "参数错误")
    with pytest.raises(Retryable) as caught:
        make_gateway(wechat_fake).fetch(command(trade, 990).query())
    assert not isinstance(caught.value, Declined) and caught.value.gateway_code == "PARAM_ERROR"


def test_fetch_unknown_out_refund_no_is_none(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    assert make_gateway(wechat_fake).fetch(command(trade, 990, "rf_never").query()) is None


def test_connection_refused_is_retryable(make_gateway):
    trade = WxTrade(out_trade_no="X", transaction_id="1", total=100)
    gw = make_gateway(None)
    with pytest.raises(Retryable):
        gw.refund(command(trade, 100))
    with pytest.raises(Retryable):
        gw.fetch(command(trade, 100).query())


def test_wrong_merchant_key_is_a_configuration_error(make_gateway, wechat_fake, stranger_keys):
    trade = wechat_fake.add_trade(2990)
    with pytest.raises(GatewayConfigError) as caught:
        make_gateway(wechat_fake, merchant_private_key=stranger_keys.private_pem).refund(command(trade, 100))
    assert caught.value.gateway_code == "SIGN_ERROR"
    assert wechat_fake.refund_count == 0


def test_answer_not_signed_by_the_platform_key_is_not_trusted(make_gateway, wechat_fake, stranger_keys):
    trade = wechat_fake.add_trade(2990)
    gw = make_gateway(wechat_fake, platform_public_key=stranger_keys.public_pem)
    with pytest.raises(Ambiguous):
        gw.refund(command(trade, 100))
    with pytest.raises(Retryable):
        gw.fetch(command(trade, 100).query())
    assert wechat_fake.refund_count == 1  # it was made; a correctly configured fetch would settle it


def test_only_cny(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    usd = RefundCommand(
        idempotency_key="rf_1", charge_ref=trade.out_trade_no, amount=Money(1, "USD"), order_total=Money(2990, "USD")
    )
    with pytest.raises(Declined):
        make_gateway(wechat_fake).refund(usd)
    assert wechat_fake.server.requests == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"apiv3_key": "too-short"},
        {"mchid": ""},
        {"merchant_private_key": "nonsense"},
        {"platform_public_key": None, "platform_public_key_id": None},
        {"platform_public_key_id": None},
    ],
)
def test_configuration_is_checked_up_front(make_gateway, overrides):
    with pytest.raises(GatewayConfigError):
        make_gateway(None, **overrides)


# --- notifications -------------------------------------------------------------------------------


def test_refund_success_notification(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    gw = make_gateway(wechat_fake)
    result = gw.refund(command(trade, 990))
    refund = wechat_fake.complete("rf_1")
    [event] = gw.parse_webhook(*wechat_fake.signed_notification(refund))
    assert event.kind == REFUND_SUCCEEDED
    assert event.event_id.startswith("EV-")
    assert event.idempotency_key == "rf_1"
    assert event.gateway_ref == result.gateway_ref
    assert event.charge_ref == trade.out_trade_no
    assert f"transaction_id:{trade.transaction_id}" in event.charge_refs
    assert event.amount == Money(990, "CNY")
    assert event.raw["resource"]["user_received_account"] == "招商银行信用卡0403"


def test_abnormal_notification_needs_the_merchant(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    make_gateway(wechat_fake).refund(command(trade, 990))
    refund = wechat_fake.complete("rf_1", "ABNORMAL")
    [event] = make_gateway(wechat_fake).parse_webhook(*wechat_fake.signed_notification(refund, event_type="REFUND.ABNORMAL"))
    assert event.kind == REFUND_ABNORMAL and "ABNORMAL" in event.failure_reason


def test_merchant_platform_refund_shows_up_with_a_number_we_never_issued(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    refund = wechat_fake.dashboard_refund(trade, 500)
    [event] = make_gateway(wechat_fake).parse_webhook(*wechat_fake.signed_notification(refund))
    assert event.idempotency_key == refund["out_refund_no"] and event.idempotency_key.startswith("MP")
    assert event.gateway_ref == refund["refund_id"]
    assert event.charge_ref == trade.out_trade_no


def test_header_spellings(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    headers, body = wechat_fake.signed_notification(wechat_fake.dashboard_refund(trade, 500))
    gw = make_gateway(wechat_fake)
    assert gw.parse_webhook({k.lower(): v for k, v in headers.items()}, body)
    assert gw.parse_webhook({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}, body)


def test_bad_signature_is_rejected(make_gateway, wechat_fake, stranger_keys):
    trade = wechat_fake.add_trade(2990)
    refund = wechat_fake.dashboard_refund(trade, 500)
    gw = make_gateway(wechat_fake)
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(*wechat_fake.signed_notification(refund, key=stranger_keys.private_key))
    headers, body = wechat_fake.signed_notification(refund)
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(headers, body.replace(b"REFUND.SUCCESS", b"REFUND.CLOSED"))
    with pytest.raises(WebhookRejected):
        gw.parse_webhook({**headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]}, body)
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(*wechat_fake.signed_notification(refund, serial="PUB_KEY_ID_UNKNOWN"))
    with pytest.raises(WebhookRejected):
        gw.parse_webhook({k: v for k, v in headers.items() if k != "Wechatpay-Nonce"}, body)


def test_stale_timestamp_is_rejected(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    refund = wechat_fake.dashboard_refund(trade, 500)
    gw = make_gateway(wechat_fake)
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(*wechat_fake.signed_notification(refund, timestamp=int(time.time()) - 301))
    with pytest.raises(WebhookRejected):
        gw.parse_webhook(*wechat_fake.signed_notification(refund, timestamp=int(time.time()) + 301))
    headers, body = wechat_fake.signed_notification(refund, timestamp=1_700_000_000)
    assert gw.parse_webhook(headers, body, now=datetime.fromtimestamp(1_700_000_000, UTC) - timedelta(seconds=299))


def test_resource_encrypted_with_another_key_is_rejected(make_gateway, wechat_fake):
    trade = wechat_fake.add_trade(2990)
    refund = wechat_fake.dashboard_refund(trade, 500)
    with pytest.raises(WebhookRejected):
        make_gateway(wechat_fake).parse_webhook(*wechat_fake.signed_notification(refund, apiv3_key="b" * 32))

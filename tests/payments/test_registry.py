"""GatewayRegistry: built from a plain mapping, clear errors for unknown/unconfigured ids."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from refunddesk.core.errors import ConfigurationError
from refunddesk.core.money import Money
from refunddesk.payments.gateways import GatewayConfigError, GatewayRegistry, RefundCommand
from refunddesk.payments.gateways.alipay import AlipayGateway
from refunddesk.payments.gateways.manual import ManualGateway
from refunddesk.payments.gateways.sandbox import InMemoryStore, SandboxGateway
from refunddesk.payments.gateways.stripe import StripeGateway
from refunddesk.payments.gateways.wechatpay import WeChatPayGateway
from tests.payments.fakes.alipay_fake import APP_ID
from tests.payments.fakes.stripe_fake import API_KEY
from tests.payments.fakes.wechat_fake import APIV3_KEY, MCHID, MERCHANT_SERIAL, PLATFORM_KEY_ID


@pytest.fixture
def full_config(merchant_keys, gateway_keys):
    return {
        "sandbox": {"delay_seconds": 0, "decline_endings": ["0013"]},
        "manual": {},
        "stripe": {"api_key": API_KEY, "webhook_secret": "whsec_x", "api_base": "http://127.0.0.1:9"},
        "alipay": {
            "app_id": APP_ID,
            "app_private_key": merchant_keys.private_pem,
            "alipay_public_key": gateway_keys.public_pem,
            "gateway_url": "http://127.0.0.1:9/gateway.do",
        },
        "wechat_pay": {
            "mchid": MCHID,
            "merchant_serial_no": MERCHANT_SERIAL,
            "merchant_private_key": merchant_keys.private_pem,
            "apiv3_key": APIV3_KEY,
            "platform_public_key": gateway_keys.public_pem,
            "platform_public_key_id": PLATFORM_KEY_ID,
            "api_base": "http://127.0.0.1:9",
        },
    }


def test_builds_every_adapter_from_plain_config(full_config):
    registry = GatewayRegistry(full_config)
    assert registry.problems == {}
    registry.check()
    assert isinstance(registry.get("sandbox"), SandboxGateway)
    assert isinstance(registry.get("manual"), ManualGateway)
    assert isinstance(registry.get("stripe"), StripeGateway)
    assert isinstance(registry.get("alipay"), AlipayGateway)
    assert isinstance(registry["wechat_pay"], WeChatPayGateway)
    assert {registry.get(g).id for g in registry} == set(full_config)
    assert registry.ids() == sorted(full_config)
    assert registry.with_webhooks() == ["alipay", "stripe", "wechat_pay"]
    assert "stripe" in registry and "paypal" not in registry


def test_unknown_id_is_a_clear_configuration_error(full_config):
    registry = GatewayRegistry(full_config)
    with pytest.raises(GatewayConfigError) as caught:
        registry.get("paypal")
    assert "no payment gateway 'paypal' is configured" in str(caught.value)
    assert "stripe" in str(caught.value)
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.status_code == 503
    assert caught.value.as_dict()["gateway"] == "paypal"


def test_store_channels_explain_who_refunds(full_config):
    with pytest.raises(GatewayConfigError, match="Apple"):
        GatewayRegistry(full_config).get("app_store")


def test_a_broken_entry_does_not_take_the_others_down(full_config):
    full_config["stripe"] = {"webhook_secret": "whsec_x"}  # no api_key
    full_config["wechat_pay"]["apiv3_key"] = "short"
    registry = GatewayRegistry(full_config)
    assert set(registry.problems) == {"stripe", "wechat_pay"}
    with pytest.raises(GatewayConfigError, match="api_key"):
        registry.get("stripe")
    with pytest.raises(GatewayConfigError, match="apiv3_key"):
        registry.get("wechat_pay")
    assert registry.get("alipay").id == "alipay"
    with pytest.raises(GatewayConfigError, match="stripe:.*wechat_pay:"):
        registry.check()


def test_typos_in_options_are_refused():
    registry = GatewayRegistry({"sandbox": {"delay_second": 2}})
    with pytest.raises(GatewayConfigError, match="unknown option.*delay_second"):
        registry.get("sandbox")


def test_second_account_with_a_type(full_config):
    registry = GatewayRegistry({"stripe_eu": {**full_config["stripe"], "type": "stripe"}, "wx": {"type": "wechatpay", **full_config["wechat_pay"]}})
    assert isinstance(registry.get("stripe_eu"), StripeGateway) and registry.get("stripe_eu").id == "stripe_eu"
    assert isinstance(registry.get("wx"), WeChatPayGateway)


def test_unknown_type_is_refused():
    with pytest.raises(GatewayConfigError, match="unknown type 'paypal'"):
        GatewayRegistry({"paypal": {}}).get("paypal")


def test_injected_objects_and_shared_store():
    store = InMemoryStore()
    custom = ManualGateway(id="cash")
    registry = GatewayRegistry({"cash": custom, "sandbox": {"delay_seconds": 0, "store": store}})
    assert registry.get("cash") is custom
    registry.get("sandbox").refund(
        RefundCommand(idempotency_key="rf_1", charge_ref="ch_1", amount=Money(5, "CNY"), order_total=Money(5, "CNY"))
    )
    assert store.get("rf_1") is not None
    with pytest.raises(GatewayConfigError):
        GatewayRegistry({"x": 42}).get("x")  # type: ignore[dict-item]


def test_the_injected_http_session_is_used(full_config):
    session = requests.Session()
    registry = GatewayRegistry(full_config, http_session=session)
    assert registry.get("wechat_pay").session is session
    assert registry.get("alipay").client._session is session


def test_registries_share_nothing(full_config):
    one = GatewayRegistry({"sandbox": {"delay_seconds": 0}})
    two = GatewayRegistry({"sandbox": {"delay_seconds": 0}})
    cmd = RefundCommand(idempotency_key="rf_1", charge_ref="ch_1", amount=Money(5, "CNY"), order_total=Money(5, "CNY"))
    one.get("sandbox").refund(cmd)
    assert two.get("sandbox").fetch(cmd.query()) is None


def test_the_gateways_package_does_not_import_django():
    code = (
        "import sys; import refunddesk.payments.gateways as g; "
        "import refunddesk.payments.gateways.stripe, refunddesk.payments.gateways.alipay, "
        "refunddesk.payments.gateways.wechatpay, refunddesk.payments.gateways.sandbox; "
        "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

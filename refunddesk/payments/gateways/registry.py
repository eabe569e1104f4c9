"""Gateways by id, built from a plain config mapping. No globals: the caller owns the registry.

    GatewayRegistry({
        "sandbox": {"delay_seconds": 2, "decline_endings": ["0013"], "store": shared_store},
        "manual": {},
        "stripe": {"api_key": "sk_live_...", "webhook_secret": "whsec_...", "api_base": None, "timeout": 30},
        "alipay": {"app_id": "...", "app_private_key": PEM_or_base64, "alipay_public_key": PEM_or_base64,
                   "gateway_url": None, "sandbox": False, "timeout": 15},
        "wechat_pay": {"mchid": "...", "merchant_serial_no": "...", "merchant_private_key": PEM,
                       "apiv3_key": "32 chars", "platform_public_key": PEM,
                       "platform_public_key_id": "PUB_KEY_ID_...", "api_base": None, "timeout": 15},
        "stripe_eu": {"type": "stripe", "api_key": "..."},   # a second account: give "type"
        "custom": some_gateway_object,                        # or inject any Gateway as it is
    }, http_session=None)

The key is the gateway id (what ``Order.gateway`` holds); ``type`` defaults to the key. Every option is
a keyword of the adapter's constructor; unknown options are refused (typos fail loudly). A broken entry
does not take the others down: ``get`` raises its ``GatewayConfigError``; ``problems`` lists them and
``check()`` raises if there are any (call it at start-up to fail fast).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests

from refunddesk.core.vocabulary import STORE_CHANNELS as VOCABULARY_STORE_CHANNELS

from .base import Gateway
from .errors import GatewayConfigError

#: Why refunddesk has no adapter for the app stores (core.vocabulary.STORE_CHANNELS): their refunds the store
#: itself makes.
STORE_CHANNELS = {
    "app_store": "App Store purchases are refunded by Apple (reportaproblem.apple.com), not by refunddesk",
    "google_play": "Google Play purchases are refunded in the Play Console or by Google, not by refunddesk",
}
assert tuple(STORE_CHANNELS) == VOCABULARY_STORE_CHANNELS, "the store channels are core.vocabulary's"

TYPE_ALIASES = {"wechatpay": "wechat_pay", "wechat": "wechat_pay", "weixin": "wechat_pay"}


def _sandbox() -> type:
    from .sandbox import SandboxGateway

    return SandboxGateway


def _manual() -> type:
    from .manual import ManualGateway

    return ManualGateway


def _stripe() -> type:
    from .stripe import StripeGateway

    return StripeGateway


def _alipay() -> type:
    from .alipay import AlipayGateway

    return AlipayGateway


def _wechat_pay() -> type:
    from .wechatpay import WeChatPayGateway

    return WeChatPayGateway


#: type -> a function returning the adapter class (imported lazily: one SDK failing to import
#: only breaks the gateways of that type).
ADAPTERS: dict[str, Callable[[], type]] = {
    "sandbox": _sandbox,
    "manual": _manual,
    "stripe": _stripe,
    "alipay": _alipay,
    "wechat_pay": _wechat_pay,
}


def build_gateway(gateway_id: str, options: Mapping[str, Any], *, http_session: requests.Session | None = None) -> Gateway:
    """One adapter from its options (see the module docstring)."""
    options = dict(options)
    kind = str(options.pop("type", gateway_id))
    kind = TYPE_ALIASES.get(kind, kind)
    if kind in STORE_CHANNELS:
        raise GatewayConfigError(STORE_CHANNELS[kind], gateway=gateway_id)
    factory = ADAPTERS.get(kind)
    if factory is None:
        raise GatewayConfigError(
            f"gateway '{gateway_id}' has unknown type '{kind}'; known types: {', '.join(sorted(ADAPTERS))}",
            gateway=gateway_id,
        )
    try:
        cls = factory()
    except ImportError as exc:
        raise GatewayConfigError(f"the {kind} SDK cannot be imported: {exc}", gateway=gateway_id) from None
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(options) - set(accepted) - {"id"})
    if unknown:
        raise GatewayConfigError(
            f"gateway '{gateway_id}' ({kind}): unknown option(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(p for p in accepted if p not in ('id', 'client')))}",
            gateway=gateway_id,
        )
    if "http_session" in accepted and http_session is not None:
        options.setdefault("http_session", http_session)
    try:
        gateway = cls(id=gateway_id, **options)
    except GatewayConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise GatewayConfigError(f"gateway '{gateway_id}' ({kind}): {exc}", gateway=gateway_id) from None
    return gateway


class GatewayRegistry:
    def __init__(
        self,
        config: Mapping[str, Mapping[str, Any] | Gateway],
        *,
        http_session: requests.Session | None = None,
    ) -> None:
        self._gateways: dict[str, Gateway] = {}
        self._problems: dict[str, GatewayConfigError] = {}
        for gateway_id, entry in config.items():
            if isinstance(entry, Mapping):
                try:
                    self._gateways[gateway_id] = build_gateway(gateway_id, entry, http_session=http_session)
                except GatewayConfigError as exc:
                    self._problems[gateway_id] = exc
            elif isinstance(entry, Gateway):
                self._gateways[gateway_id] = entry
            else:
                self._problems[gateway_id] = GatewayConfigError(
                    f"gateway '{gateway_id}' must be configured with a mapping of options or a Gateway object",
                    gateway=gateway_id,
                )

    def get(self, gateway_id: str) -> Gateway:
        gateway = self._gateways.get(gateway_id)
        if gateway is not None:
            return gateway
        problem = self._problems.get(gateway_id)
        if problem is not None:
            raise GatewayConfigError(problem.message, gateway=gateway_id)
        if gateway_id in STORE_CHANNELS:
            raise GatewayConfigError(STORE_CHANNELS[gateway_id], gateway=gateway_id)
        configured = ", ".join(sorted(self._gateways)) or "none"
        raise GatewayConfigError(
            f"no payment gateway '{gateway_id}' is configured (configured: {configured})", gateway=gateway_id
        )

    def __getitem__(self, gateway_id: str) -> Gateway:
        return self.get(gateway_id)

    def __contains__(self, gateway_id: object) -> bool:
        return gateway_id in self._gateways

    def __iter__(self) -> Iterator[str]:
        return iter(self._gateways)

    def __len__(self) -> int:
        return len(self._gateways)

    def ids(self) -> list[str]:
        return sorted(self._gateways)

    def with_webhooks(self) -> list[str]:
        return sorted(gid for gid, gw in self._gateways.items() if gw.supports_webhooks)

    @property
    def problems(self) -> dict[str, str]:
        """Gateway id -> why it could not be built."""
        return {gid: str(exc.message) for gid, exc in self._problems.items()}

    def check(self) -> None:
        """Raise one GatewayConfigError listing every broken entry (for start-up checks)."""
        if self._problems:
            detail = "; ".join(f"{gid}: {msg}" for gid, msg in sorted(self.problems.items()))
            raise GatewayConfigError(f"payment gateways not configured correctly: {detail}")

"""The gateways this installation uses, built once per process from settings.REFUNDDESK_GATEWAYS."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from refunddesk.payments.gateways.registry import GatewayRegistry


@lru_cache(maxsize=1)
def _registry() -> GatewayRegistry:
    from refunddesk.payments.sandbox_store import DatabaseSandboxStore

    config = {name: dict(options) for name, options in settings.REFUNDDESK_GATEWAYS.items()}
    config.setdefault("sandbox", {})
    config["sandbox"].setdefault("store", DatabaseSandboxStore())
    config.setdefault("manual", {})
    return GatewayRegistry(config)


def gateway_for(gateway_id: str):
    """The configured gateway `gateway_id`, its calls timed and its errors counted for /metrics
    (refunddesk.payments.metrics.Measured). Raises GatewayConfigError when it is not configured."""
    from refunddesk.payments.metrics import Measured

    return Measured(gateway_id, _registry().get(gateway_id))


def reset() -> None:
    """Forget built gateways (tests that change settings call this)."""
    _registry.cache_clear()

"""Payment gateway adapters: one contract (``base.Gateway``), one error vocabulary (``errors``), a registry.

Django-free on purpose: the Refund model and its worker build on this from the outside.
SDK-backed adapters (stripe, alipay, wechatpay) are imported lazily by the registry.
"""

from .base import (
    CHARGE_REFUNDED,
    FAILED,
    PENDING,
    REFUND_FAILED,
    REFUND_PENDING,
    REFUND_SUCCEEDED,
    SUCCEEDED,
    Gateway,
    GatewayResult,
    RefundCommand,
    RefundQuery,
    WebhookEvent,
)
from .errors import Ambiguous, Declined, GatewayConfigError, GatewayError, Retryable, WebhookRejected
from .registry import GatewayRegistry, build_gateway

__all__ = [
    "CHARGE_REFUNDED",
    "FAILED",
    "PENDING",
    "REFUND_FAILED",
    "REFUND_PENDING",
    "REFUND_SUCCEEDED",
    "SUCCEEDED",
    "Ambiguous",
    "Declined",
    "Gateway",
    "GatewayConfigError",
    "GatewayError",
    "GatewayRegistry",
    "GatewayResult",
    "RefundCommand",
    "RefundQuery",
    "Retryable",
    "WebhookEvent",
    "WebhookRejected",
    "build_gateway",
]

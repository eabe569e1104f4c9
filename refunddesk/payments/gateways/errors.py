"""What can go wrong when money is sent back, in the three words the refund worker needs.

Every SDK, HTTP and gateway error is translated into exactly one of these:

``Retryable``
    Nothing happened, or the gateway told us to try again, and resending *the same command with the
    same idempotency key* is safe: connection refused, connect timeout, 429, 503, lock contention,
    Alipay ``ACQ.SYSTEM_ERROR``, WeChat ``SYSTEM_ERROR``. ``retry_after`` carries the gateway's hint.

``Declined``
    The gateway looked at the refund and said no: balance too low, charge too old, amount above what is
    left on the charge. ``reason`` is the gateway's own text for staff; resending will not help.

``Ambiguous``
    We sent it and do not know what happened: read timeout after the request went out, the connection
    dropped before the answer, an unreadable or unsigned answer to a refund. Settle it with
    ``gateway.fetch(...)``, never by sending again blindly.

``WebhookRejected`` — a webhook/notification failed signature or freshness checks; nothing in it was read.

``GatewayConfigError`` — the gateway is unknown or not configured, or rejected our credentials.
Nothing was refunded; it also is a ``refunddesk.core.errors.ConfigurationError`` (HTTP 503) so the API
and pages show it as "not configured".
"""

from __future__ import annotations

from typing import Any, ClassVar

from refunddesk.core.errors import ConfigurationError


class GatewayError(Exception):
    """Base of every gateway failure. ``gateway`` is the gateway id, ``gateway_code`` its own code."""

    #: True when the same command may be sent again with the same idempotency key.
    safe_to_resend: ClassVar[bool] = False

    def __init__(
        self,
        message: Any = "",
        *,
        gateway: str = "",
        gateway_code: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.gateway = gateway
        self.gateway_code = gateway_code
        self.raw: dict[str, Any] = dict(raw or {})

    def __str__(self) -> str:
        text = str(self.message)
        prefix = f"{self.gateway}: " if self.gateway else ""
        code = f" [{self.gateway_code}]" if self.gateway_code else ""
        return f"{prefix}{text}{code}"


class Retryable(GatewayError):
    """Transient; resend the same command with the same idempotency key (after ``retry_after`` s if set)."""

    safe_to_resend = True

    def __init__(self, message: Any = "", *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Declined(GatewayError):
    """The gateway refused this refund; ``reason`` is its explanation, for staff."""

    @property
    def reason(self) -> str:
        return str(self.message)


class Ambiguous(GatewayError):
    """Sent, outcome unknown. Settle with ``fetch``; never by resending."""


class WebhookRejected(GatewayError):
    """Bad signature, unknown key, stale timestamp or unreadable body. Answer the sender with 400."""

    status_code = 400


class GatewayConfigError(ConfigurationError, GatewayError):
    """Unknown/unconfigured gateway id, a missing or malformed setting, or credentials the gateway refused.

    Nothing was refunded; the same command is safe to resend once the configuration is fixed.
    """

    safe_to_resend = True
    code = "gateway_not_configured"

    def __init__(
        self,
        message: Any = "",
        *,
        gateway: str = "",
        gateway_code: str | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        ConfigurationError.__init__(self, message)
        self.gateway = gateway
        self.gateway_code = gateway_code
        self.raw = dict(raw or {})

    def __str__(self) -> str:
        return GatewayError.__str__(self)

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        if self.gateway:
            body["gateway"] = self.gateway
        return body


def for_fetch(exc: GatewayError) -> GatewayError:
    """A refusal or puzzle while *looking a refund up* says nothing about the refund itself.

    ``fetch`` must never raise Declined (the worker would fail a refund that may have gone through)
    nor Ambiguous (nothing was sent): both become Retryable, keeping the gateway's code and text.
    """
    if isinstance(exc, Declined | Ambiguous):
        return Retryable(
            f"looking the refund up failed: {exc.message}",
            gateway=exc.gateway,
            gateway_code=exc.gateway_code,
            raw=exc.raw,
        )
    return exc

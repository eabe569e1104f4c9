"""The one error tree.

Every refusal a user can cause is an ApplicationError carrying a message a person
can act on. The API turns it into a 4xx JSON body (see config/api.py), the pages
into a form error. `field` names the input at fault, when there is one.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A refusal the user caused and can fix. Maps to HTTP 400 unless a subclass says otherwise."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: Any, *, field: str | None = None, code: str | None = None, **extra: Any):
        super().__init__(str(message))
        self.message = message  # may be a lazy translation; str() it when rendering
        self.field = field
        if code:
            self.code = code
        self.extra = extra

    def __str__(self) -> str:
        text = str(self.message)
        return f"{self.field}: {text}" if self.field else text

    def as_dict(self) -> dict[str, Any]:
        """The API's error body: `{"code": str, "message": str, "field": str | None, ...extra}`.

        `field` is always there (None when no single input is at fault); extra members given to the
        constructor follow when they are JSON values. The message is rendered in the active language."""
        body: dict[str, Any] = {"code": self.code, "message": str(self.message), "field": self.field or None}
        if self.extra:
            body.update({k: v for k, v in self.extra.items() if isinstance(v, str | int | bool | list | dict)})
        return body


class ValidationError(ApplicationError):
    """Input that does not make sense (bad amount, unknown currency, date in the future)."""

    status_code = 422
    code = "invalid"


class NotFound(ApplicationError):
    status_code = 404
    code = "not_found"


class AuthenticationFailed(ApplicationError):
    status_code = 401
    code = "unauthenticated"


class PermissionDenied(ApplicationError):
    status_code = 403
    code = "forbidden"


class Conflict(ApplicationError):
    """The request is valid but clashes with the current state (one open request per order...)."""

    status_code = 409
    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class PayloadTooLarge(ApplicationError):
    """The body, one file or the number of files is over a limit (Django's DATA_UPLOAD_MAX_MEMORY_SIZE,
    DATA_UPLOAD_MAX_NUMBER_FILES, REFUNDDESK_EVIDENCE_MAX_BYTES)."""

    status_code = 413
    code = "too_large"


class TooManyRequests(ApplicationError):
    """Too many attempts in a while (sign-in, tokens); the client should wait and try again."""

    status_code = 429
    code = "rate_limited"


class MethodNotAllowed(ApplicationError):
    """The route exists but does not take this HTTP method."""

    status_code = 405
    code = "method_not_allowed"


class ConfigurationError(ApplicationError):
    """The merchant's setup is incomplete (no policy published, no holiday data for a year)."""

    status_code = 503
    code = "not_configured"


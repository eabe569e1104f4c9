"""API authentication: merchant API keys as `Authorization: Bearer <key>`; the client's address."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from refunddesk.core.errors import AuthenticationFailed
from refunddesk.core.services import api_key_authenticate


class ApiKeyAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str):
        try:
            return api_key_authenticate(raw=token)
        except AuthenticationFailed:
            return None


api_key_auth = ApiKeyAuth()


class UserTokenAuth(HttpBearer):
    """A customer's or staff member's personal token (see core.services.access_token_create)."""

    def authenticate(self, request: HttpRequest, token: str):
        from refunddesk.core.services import access_token_authenticate

        try:
            user = access_token_authenticate(raw=token)
        except AuthenticationFailed:
            return None
        request.user = user
        return user


def session_user(request: HttpRequest):
    """Signed-in browser sessions may use the API too (django-ninja checks CSRF for them)."""
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


user_token_auth = UserTokenAuth()


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address (settings.AXES_CLIENT_IP_CALLABLE; the sign-in link's rate limit).

    Without REFUNDDESK_CLIENT_IP_HEADER: REMOTE_ADDR. Behind REFUNDDESK_PROXY_COUNT (N) reverse proxies that
    each append the address they saw to that header (X-Forwarded-For: nginx's $proxy_add_x_forwarded_for),
    the N-th entry from the right: the address the outermost proxy saw. Entries further left were written by
    the client and are ignored (they can be forged). A header with fewer entries, or an entry that is not an IP
    address, falls back to REMOTE_ADDR (a request that did not come through the proxies).
    """
    header = settings.REFUNDDESK_CLIENT_IP_HEADER
    if header:
        raw = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
        n = max(int(settings.REFUNDDESK_PROXY_COUNT), 1)
        if len(entries) >= n:
            try:
                return str(ipaddress.ip_address(entries[-n]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR")

"""API authentication: merchant API keys as `Authorization: Bearer <key>`."""

from __future__ import annotations

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

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

"""Sign-in for API clients: email + password -> a personal token. Rate-limited per address."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited
from ninja import Router, Schema

from refunddesk.core.errors import ApplicationError, AuthenticationFailed
from refunddesk.core.services import access_token_create

router = Router(tags=["sign-in"])


class TooManyAttempts(ApplicationError):
    status_code = 429
    code = "rate_limited"


class TokenIn(Schema):
    username: str
    password: str


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime | None
    customer: bool


@router.post("/token", response=TokenOut, auth=None)
def token(request: HttpRequest, payload: TokenIn):
    if is_ratelimited(request, group="api-token", key="ip", rate="10/m", increment=True):
        raise TooManyAttempts("too many sign-in attempts from this address; wait a minute and try again.")
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise AuthenticationFailed("wrong email or password.")
    row, raw = access_token_create(user=user, name="api sign-in")
    return {"token": raw, "expires_at": row.expires_at, "customer": hasattr(user, "customer")}

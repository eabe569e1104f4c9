"""Sign-in for API clients: email (or user name) + password -> a personal token.

Failed attempts are counted by django-axes, per account and per client address (failures only; the
address from the configured proxy header, see settings REFUNDDESK_CLIENT_IP_HEADER): once either reaches
AXES_FAILURE_LIMIT, further attempts are refused with 429 for AXES_COOLOFF_TIME, right password or not.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from refunddesk.core.api_errors import errors
from refunddesk.core.errors import ApplicationError, AuthenticationFailed, ValidationError
from refunddesk.core.services import access_token_create

router = Router(tags=["sign-in"])


class TooManyAttempts(ApplicationError):
    status_code = 429
    code = "rate_limited"


class TokenIn(Schema):
    email: str | None = Field(None, max_length=254, description="the account's email (customers and staff)")
    username: str | None = Field(None, max_length=254, description="or the user name (staff); one of the two")
    password: str = Field(..., max_length=4096)


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime | None
    customer: bool


def lockout_minutes() -> int:
    """How long a locked-out account or address waits, in minutes (settings.AXES_COOLOFF_TIME, in hours)."""
    return max(1, round(float(settings.AXES_COOLOFF_TIME or 0) * 60))


def username_for(login: str) -> str:
    """The user name to authenticate for what a person typed as their login: a user name as it is, else the
    one account with that email (case-insensitive; one email is one account), else what was typed (so a
    wrong login still counts as a failure against that name)."""
    login = (login or "").strip()
    users = get_user_model().objects
    if users.filter(username=login).exists():
        return login
    match = users.filter(email__iexact=login).values_list("username", flat=True).first()
    return match or login


@router.post("/token", response={200: TokenOut, **errors(401, 429)}, auth=None)
def token(request: HttpRequest, payload: TokenIn):
    """A personal API token for a customer or staff member. Send `email` (or `username`) and `password`.
    401 for a wrong login or password; 429 while the account or the client address is locked out."""
    login = payload.email if payload.email not in (None, "") else payload.username
    if not login:
        raise ValidationError(_("Give the account's email (or user name)."), field="email")
    user = authenticate(request, username=username_for(login), password=payload.password)
    if getattr(request, "axes_locked_out", False):  # the same words as the sign-in page, in the caller's language
        raise TooManyAttempts(_("Too many failed sign-in attempts. Wait %(minutes)d minutes and try again.")
                              % {"minutes": lockout_minutes()})
    if user is None:
        raise AuthenticationFailed(
            _("That email and password do not match an account. Check them, or ask for a sign-in link."))
    row, raw = access_token_create(user=user, name="api sign-in")
    return {"token": raw, "expires_at": row.expires_at, "customer": hasattr(user, "customer")}

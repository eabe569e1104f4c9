"""Writes the portal needs that no other app provides: how customers get in.

One-time sign-in links. The link carries a signed token (django.core.signing, salted) with the user's id
and a fingerprint of their password hash and last sign-in time. It expires after SIGN_IN_LINK_MAX_AGE
seconds and works once: signing in changes the last sign-in time, which changes the fingerprint. Asking
for a link does the same work whatever the address (`sign_in_link_request` only queues a task), so the
answer and its timing say nothing about which addresses have accounts; the task (`sign_in_link_send`)
decides, creating the account of a customer on file on first use (billing.services.customer_account_ensure).

Portal sessions (portal.models.PortalSession), opened by the merchant's product with its API key: a
short-lived, single-use URL that signs one customer in and lands them on an order, with a way back to
the merchant's `return_url`. Only the SHA-256 of the token is stored.

Emails are rendered in the customer's language and enqueued (refunddesk.notify.tasks.send_email) in the
same transaction, never sent inline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import ipaddress
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from refunddesk.billing.models import Customer, Order
from refunddesk.billing.services import customer_account_ensure
from refunddesk.core.errors import ApplicationError, NotFound, ValidationError
from refunddesk.core.i18n import is_zh
from refunddesk.notify.services import language_of, render_email
from refunddesk.notify.tasks import send_email
from refunddesk.portal.models import PortalSession

SALT = "refunddesk.portal.sign-in-link"
SIGN_IN_LINK_MAX_AGE = 15 * 60  # seconds


def _fingerprint(user) -> str:
    last = user.last_login.isoformat() if user.last_login else ""
    return salted_hmac(SALT, f"{user.pk}|{user.password}|{last}").hexdigest()[:20]


def sign_in_link_token(*, user) -> str:
    return signing.dumps({"u": user.pk, "f": _fingerprint(user)}, salt=SALT)


def sign_in_link_user(*, token: str):
    """The user a sign-in link is for. Read-only; raises ValidationError when it is expired, used or wrong."""
    try:
        data = signing.loads(token, salt=SALT, max_age=SIGN_IN_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(_("This sign-in link has expired. Ask for a new one."), field="token") from None
    except signing.BadSignature:
        raise ValidationError(_("This sign-in link is not valid. Ask for a new one."), field="token") from None
    user = get_user_model().objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or not constant_time_compare(_fingerprint(user), str(data.get("f", ""))):
        raise ValidationError(_("This sign-in link has already been used. Ask for a new one."), field="token")
    return user


def sign_in_link_request(*, email: str, language: str | None = None) -> None:
    """A visitor asks for a sign-in link for `email`. Queues `portal.tasks.sign_in_link_deliver`, which
    decides (sign_in_link_send); the same work whether or not the address has an account or is a customer
    on file, so neither the answer nor its timing tell. The address is not logged.

    Raises ValidationError (field email) for an empty address only.
    """
    from refunddesk.portal.tasks import sign_in_link_deliver

    address = (email or "").strip()
    if not address:
        raise ValidationError(_("Enter the email address of your account."), field="email")
    sign_in_link_deliver.enqueue(email=address[:254], language=language_of(language) if language else None)


def _account_for_email(address: str):
    """The one active account signing in with `address`: an existing user, or the account of the customer
    on file with that email, created or linked now (first use). None when there is neither (or the
    customer's account cannot be made, e.g. a staff member's account has that email: see
    customer_account_ensure)."""
    user = get_user_model().objects.filter(email__iexact=address).first()
    if user is not None:
        return user if user.is_active else None
    customer = Customer.objects.filter(email__iexact=address).first()
    if customer is None:
        return None
    try:
        return customer_account_ensure(customer=customer)
    except ApplicationError:
        return None


@transaction.atomic
def sign_in_link_send(*, email: str, language: str | None = None) -> bool:
    """Email a one-time sign-in link to the account with this email: an existing account, or that of the
    customer on file with this email (created or linked on first use). `language` ('zh-hans' or 'en'; None:
    the customer's, else the account's) is the email's language.

    Returns whether an email was enqueued; callers must not tell the visitor (no account probing). Called by
    the worker (portal.tasks.sign_in_link_deliver) and by tests.
    """
    address = (email or "").strip()
    if not address:
        return False
    user = _account_for_email(address)
    if user is None:
        return False
    customer = Customer.objects.filter(user=user).first()
    lang = language_of(language or (customer.language if customer else None) or user.language)
    link = settings.SITE_URL + reverse("accounts:link", kwargs={"token": sign_in_link_token(user=user)})
    subject, body = render_email(kind="sign_in_link", language=lang, context={
        "name": (customer.name if customer else "") or user.get_full_name() or user.email,
        "link": link, "minutes": SIGN_IN_LINK_MAX_AGE // 60,
    })
    send_email.enqueue(to=user.email, subject=subject, body=body)
    return True


# --- portal sessions -------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def portal_locale(value: str | None, *, default: str) -> str:
    """'zh-hans' or 'en' from a locale the merchant sends ('zh-Hans', 'zh-CN', 'zh', 'en', 'en-US', ...);
    None or '' gives `default`. Raises ValidationError (field locale) for any other language."""
    if not value:
        return default
    code = value.strip().lower().replace("_", "-")
    if is_zh(code) or code.startswith("zh"):
        return "zh-hans"
    if code == "en" or code.startswith("en-"):
        return "en"
    raise ValidationError(f"'{value}' is not a language the portal has: use zh-Hans or en.", field="locale")


def _loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def return_url_check(url: str) -> str:
    """The merchant's `return_url`, checked: an absolute http(s) address with a host, no user or password
    in it, no spaces or control characters, at most 2000 characters; https unless it points at this
    machine (localhost) or this installation itself runs on plain http (a laptop); and, when
    settings.REFUNDDESK_PORTAL_RETURN_HOSTS lists hosts, one of them ('.example.com' also allows its
    subdomains). Returns it stripped; raises ValidationError (field return_url) saying what is wrong."""
    value = (url or "").strip()
    if not value:
        raise ValidationError("is required: the address in your product the customer goes back to.",
                              field="return_url")
    if len(value) > 2000 or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError("must be one address of at most 2000 characters, without spaces.", field="return_url")
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValidationError(f"'{value}' is not a valid address.", field="return_url") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationError("must be an absolute http(s) address, e.g. https://shop.example.com/account.",
                              field="return_url")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("must not contain a user name or password.", field="return_url")
    if parts.scheme == "http" and not (_loopback(host) or settings.SITE_URL.startswith("http://")):
        raise ValidationError("must use https.", field="return_url")
    allowed = [h.strip().lower() for h in settings.REFUNDDESK_PORTAL_RETURN_HOSTS if h.strip()]
    if allowed and not any(host == h or (h.startswith(".") and (host.endswith(h) or host == h[1:]))
                           for h in allowed):
        raise ValidationError(f"the host {host} is not one of REFUNDDESK_PORTAL_RETURN_HOSTS "
                              f"({', '.join(allowed)}).", field="return_url")
    return value


@dataclasses.dataclass(frozen=True)
class NewPortalSession:
    session: PortalSession
    url: str  # the single-use address to send the customer's browser to; contains the token


@transaction.atomic
def portal_session_create(*, customer_id: str, return_url: str, order_id: str | None = None,
                          locale: str | None = None, api_key=None, now: dt.datetime | None = None) -> NewPortalSession:
    """The merchant's product opens the portal for one of its customers (POST /api/v1/portal-sessions).

    `customer_id` and `order_id` are the merchant's own ids (Customer.external_id, Order.external_id; the
    order must be that customer's); `return_url` is checked by `return_url_check`; `locale` ('zh-Hans' or
    'en', default the customer's language) is the portal's language for them. The customer's sign-in
    account is created or linked if needed. Returns the session and its URL (settings.SITE_URL +
    /accounts/session/<token>/), which works once, for settings.REFUNDDESK_PORTAL_SESSION_SECONDS
    (default 300 s). Raises NotFound (404; field customer_id or order_id), ValidationError (422; field
    return_url or locale), Conflict (409; field email) when the customer's email belongs to a staff account.
    """
    now = now or timezone.now()
    customer = Customer.objects.filter(external_id=(customer_id or "").strip()).first()
    if customer is None:
        raise NotFound(f"there is no customer '{customer_id}'; create it with PUT /api/v1/customers/{{id}} first.",
                       field="customer_id")
    order = None
    if order_id:
        order = Order.objects.filter(external_id=order_id.strip(), customer=customer).first()
        if order is None:
            raise NotFound(f"customer '{customer_id}' has no order '{order_id}'.", field="order_id")
    url = return_url_check(return_url)
    lang = portal_locale(locale, default=language_of(customer.language))
    customer_account_ensure(customer=customer)
    token = PortalSession.PREFIX + secrets.token_urlsafe(32)
    session = PortalSession.objects.create(
        token_hash=_hash(token), customer=customer, order=order, return_url=url, locale=lang, created_at=now,
        expires_at=now + dt.timedelta(seconds=settings.REFUNDDESK_PORTAL_SESSION_SECONDS), api_key=api_key)
    return NewPortalSession(session=session,
                            url=settings.SITE_URL + reverse("accounts:portal_session", kwargs={"token": token}))


class PortalSessionUnusable(ValidationError):
    """A portal-session URL that cannot sign anyone in. `language`: the customer's language when the session
    is known (so the page speaks it), else None; `return_url`: the merchant's address when known."""

    status_code = 410
    code = "portal_session_unusable"

    def __init__(self, message, *, language: str | None = None, return_url: str = ""):
        super().__init__(message, field="token")
        self.language = language
        self.return_url = return_url


@transaction.atomic
def portal_session_open(*, token: str, now: dt.datetime | None = None) -> PortalSession:
    """Use a portal-session URL: marks it used (under its row lock, so it works exactly once) and returns
    it, with its customer's sign-in account as `session.customer.user`. The caller signs that user in.

    Raises PortalSessionUnusable (410) when the token is unknown, expired or already used; its message
    (translated lazily: render it in `exc.language`) says which and what to do, and nothing about the
    customer.
    """
    now = now or timezone.now()
    session = (PortalSession.objects.select_for_update(of=("self",), no_key=True).select_related("customer__user")
               .filter(token_hash=_hash(token or "")).first())
    if session is None:
        raise PortalSessionUnusable(gettext_lazy(
            "This link to the refund portal is not valid. Go back to the shop and open the portal from there."))
    if session.used_at is not None:
        raise PortalSessionUnusable(gettext_lazy(
            "This link to the refund portal has already been used. Go back to the shop and open the portal "
            "again, or sign in."), language=session.locale, return_url=session.return_url)
    if session.expires_at <= now:
        raise PortalSessionUnusable(gettext_lazy(
            "This link to the refund portal has expired. Go back to the shop and open the portal again."),
            language=session.locale, return_url=session.return_url)
    user = session.customer.user
    if user is None or not user.is_active:
        raise PortalSessionUnusable(gettext_lazy(
            "This link to the refund portal cannot sign you in. Go back to the shop and contact its support."),
            language=session.locale, return_url=session.return_url)
    session.used_at = now
    session.save(update_fields=["used_at"])
    return session

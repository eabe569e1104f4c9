"""Writes the portal needs that no other app provides: the one-time sign-in link.

The link carries a signed token (django.core.signing, salted) with the user's id and a
fingerprint of their password hash and last sign-in time. It expires after
SIGN_IN_LINK_MAX_AGE seconds and works once: signing in changes the last sign-in time,
which changes the fingerprint. The email is rendered in the customer's language and
enqueued (refunddesk.notify.tasks.send_email) in the same transaction, never sent inline.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from refunddesk.core.errors import ValidationError
from refunddesk.notify.services import language_of, render_email
from refunddesk.notify.tasks import send_email

log = logging.getLogger(__name__)

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


@transaction.atomic
def sign_in_link_send(*, email: str, language: str | None = None) -> bool:
    """Email a one-time sign-in link to the account with this email, if there is exactly one.

    Returns whether an email was enqueued; callers must not tell the visitor (no account probing).
    """
    address = (email or "").strip()
    if not address:
        raise ValidationError(_("Enter the email address of your account."), field="email")
    users = list(get_user_model().objects.filter(email__iexact=address, is_active=True)[:2])
    if len(users) != 1:
        log.info("sign-in link asked for %r: %d matching accounts; nothing sent", address, len(users))
        return False
    user = users[0]
    customer = getattr(user, "customer", None)
    lang = language_of(language or (customer.language if customer else None) or user.language)
    link = settings.SITE_URL + reverse("accounts:link", kwargs={"token": sign_in_link_token(user=user)})
    subject, body = render_email(kind="sign_in_link", language=lang, context={
        "name": (customer.name if customer else "") or user.get_full_name() or user.email,
        "link": link, "minutes": SIGN_IN_LINK_MAX_AGE // 60,
    })
    send_email.enqueue(to=user.email, subject=subject, body=body)
    return True

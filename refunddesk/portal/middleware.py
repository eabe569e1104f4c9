"""A signed-in customer reads the pages in their own language (Customer.language), not the browser's.

LocaleMiddleware chooses by the language cookie, else the browser's Accept-Language. For a signed-in customer
`CustomerLanguageMiddleware` (after AuthenticationMiddleware) activates the customer's language when there is no
cookie, and every sign-in (password, one-time link, portal session) sets the cookie to it, so the browser's
preference never decides for them; choosing another language with the switcher (which sets the cookie) still
wins afterwards. A portal session's own `locale` wins over the customer's language (the view sets the cookie).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from refunddesk.core.i18n import is_zh

_AT_SIGN_IN = "_refunddesk_sign_in_language"


def customer_language(user) -> str | None:
    """'zh-hans' or 'en' for a user who is a customer with a language on file, else None."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        language = user.customer.language
    except Exception:  # noqa: BLE001 - no customer (staff), or its row is gone: the browser's language stands
        return None
    if not language:
        return None
    return "zh-hans" if is_zh(language) else "en"


def _remember_at_sign_in(sender, request=None, user=None, **kwargs) -> None:
    if request is not None:
        setattr(request, _AT_SIGN_IN, customer_language(user))


user_logged_in.connect(_remember_at_sign_in, dispatch_uid="refunddesk-customer-language")  # at import (apps.ready)


class CustomerLanguageMiddleware:
    """See the module docstring. Place it right after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            language = customer_language(getattr(request, "user", None))
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        response = self.get_response(request)
        language = getattr(request, _AT_SIGN_IN, None)
        if language and settings.LANGUAGE_COOKIE_NAME not in response.cookies:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                                path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                                secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                                samesite=settings.LANGUAGE_COOKIE_SAMESITE)
        return response

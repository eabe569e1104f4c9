"""Signing in and out: email and password, a one-time link sent by email, or a portal session opened by the
merchant's product.

Failed password sign-ins are counted by django-axes (settings AXES_*), per account and per client address,
failures only; the client address is read from the configured proxy header (REFUNDDESK_CLIENT_IP_HEADER,
refunddesk.core.auth.client_ip), for axes and for the link form's rate limit alike.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from refunddesk.core import roles
from refunddesk.core.api import lockout_minutes
from refunddesk.core.auth import client_ip
from refunddesk.core.errors import ApplicationError
from refunddesk.portal import services
from refunddesk.portal.forms import SignInForm, SignInLinkForm
from refunddesk.portal.web import page_language, safe_next

STAFF_ROLES = (roles.AGENT, roles.SUPERVISOR, roles.FINANCE, roles.POLICY_OWNER)
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
#: session keys of a portal session's way back to the merchant's product
RETURN_URL, RETURN_HOST = "portal_return_url", "portal_return_host"


def _home_for(user) -> str:
    if any(roles.has_role(user, r) for r in STAFF_ROLES):
        return "/console/"
    return "/portal/"


def client_address(group: str | None = None, request: HttpRequest | None = None) -> str:
    """The client's address as django-axes sees it (core.auth.client_ip, over the configured proxy header),
    as a django-ratelimit key (called as key(group, request))."""
    return client_ip(request) or "unknown"


def _address_key(group: str, request: HttpRequest) -> str:
    """Rate-limit key for one email address typed in the link form (hashed: the address is not stored)."""
    typed = (request.POST.get("email") or "").strip().lower()
    return hashlib.sha256(typed.encode()).hexdigest()


def locked_out(request: HttpRequest, original_response: HttpResponse | None = None, credentials=None):
    """settings.AXES_LOCKOUT_CALLABLE: what a locked-out sign-in answers. The sign-in page and the token API
    already answered with their own message (a form error, a 429 error body): keep it, as 429."""
    if original_response is not None:
        if original_response.status_code < 400:
            original_response.status_code = 429
        return original_response
    message = _("Too many failed sign-in attempts. Wait %(minutes)d minutes and try again.") % {
        "minutes": lockout_minutes()}
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "rate_limited", "message": message, "field": None}}, status=429)
    return HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url or _home_for(request.user))
    status = 200
    if request.method == "POST":
        form = SignInForm(request, request.POST)
        if form.is_valid():
            login(request, form.user)
            return redirect(next_url or _home_for(form.user))
        if getattr(request, "axes_locked_out", False):
            form.errors.pop("__all__", None)
            form.add_error(None, _("Too many failed sign-in attempts for this account or from this address. "
                                   "Wait %(minutes)d minutes and try again, or ask for a sign-in link.")
                           % {"minutes": lockout_minutes()})
            status = 429
    else:
        form = SignInForm(request)
    return render(request, "portal/sign_in.html", {"form": form, "next": next_url or "",
                                                   "link_form": SignInLinkForm()}, status=status)


@csrf_protect
@require_http_methods(["GET", "POST"])
def sign_in_link(request: HttpRequest) -> HttpResponse:
    """Ask for a sign-in link. The same answer, after the same work, whether or not the email has an account
    or is a customer on file (the worker decides); the address is not logged."""
    if request.method == "POST":
        form = SignInLinkForm(request.POST)
        limited = (is_ratelimited(request, group="sign-in-link", key=client_address, rate="10/15m", method="POST",
                                  increment=True)
                   | is_ratelimited(request, group="sign-in-link-address", key=_address_key, rate="3/15m",
                                    method="POST", increment=True))
        if limited:
            form.is_valid()
            form.add_error(None, _("Too many links asked for. Wait a few minutes and try again."))
        elif form.is_valid():
            try:
                services.sign_in_link_request(email=form.cleaned_data["email"], language=page_language())
            except ApplicationError as exc:
                form.add_service_error(exc)
            else:
                return render(request, "portal/link_sent.html", {"email": form.cleaned_data["email"]})
    else:
        form = SignInLinkForm(initial={"email": request.GET.get("email", "")})
    return render(request, "portal/link_request.html", {"form": form})


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_with_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners that open links do not use them up); POST signs in."""
    try:
        user = services.sign_in_link_user(token=token)
    except ApplicationError as exc:
        return render(request, "portal/link_invalid.html", {"message": str(exc.message)}, status=400)
    if request.method == "POST":
        login(request, user, backend=MODEL_BACKEND)
        messages.success(request, _("You are signed in."))
        return redirect(_home_for(user))
    return render(request, "portal/link_confirm.html", {"account": user})


@never_cache
@require_GET
def portal_session(request: HttpRequest, token: str) -> HttpResponse:
    """Open a portal session (portal.services.portal_session_open): sign its customer in, in the session's
    language, remember the way back to the merchant's product, and land on the order or on "my orders".
    An unknown, expired or used URL gets a page saying so in the customer's language (410)."""
    try:
        session = services.portal_session_open(token=token)
    except services.PortalSessionUnusable as exc:
        lang = exc.language or page_language()
        with translation.override(lang):
            response = render(request, "portal/session_invalid.html",
                              {"message": str(exc.message), "return_url": exc.return_url,
                               "return_host": urlsplit(exc.return_url).hostname if exc.return_url else ""},
                              status=exc.status_code)
        response["Content-Language"] = lang
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, lang, samesite="Lax")
        return response
    login(request, session.customer.user, backend=MODEL_BACKEND)
    request.session[RETURN_URL] = session.return_url
    request.session[RETURN_HOST] = urlsplit(session.return_url).hostname or ""
    if session.order_id:
        target = reverse("portal:apply", kwargs={"order_number": session.order.external_id})
    else:
        target = reverse("portal:orders")
    response = redirect(target)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, session.locale, samesite="Lax")
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/")

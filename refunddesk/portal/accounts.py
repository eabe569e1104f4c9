"""Signing in and out: email and password, or a one-time link sent by email."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from refunddesk.core import roles
from refunddesk.core.errors import ApplicationError
from refunddesk.portal import services
from refunddesk.portal.forms import SignInForm, SignInLinkForm
from refunddesk.portal.web import page_language, safe_next

STAFF_ROLES = (roles.AGENT, roles.SUPERVISOR, roles.FINANCE, roles.POLICY_OWNER)


def _home_for(user) -> str:
    if any(roles.has_role(user, r) for r in STAFF_ROLES):
        return "/console/"
    return "/portal/"


def _limited(request: HttpRequest, group: str, rate: str, key: str = "ip") -> bool:
    return is_ratelimited(request, group=group, key=key, rate=rate, method="POST", increment=True)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url or _home_for(request.user))
    if request.method == "POST":
        form = SignInForm(request, request.POST)
        if _limited(request, "sign-in", "20/5m"):
            form.is_valid()
            form.add_error(None, _("Too many attempts. Wait a few minutes and try again."))
        elif form.is_valid():
            login(request, form.user)
            return redirect(next_url or _home_for(form.user))
    else:
        form = SignInForm(request)
    return render(request, "portal/sign_in.html", {"form": form, "next": next_url or "",
                                                   "link_form": SignInLinkForm()})


@csrf_protect
@require_http_methods(["GET", "POST"])
def sign_in_link(request: HttpRequest) -> HttpResponse:
    """Ask for a sign-in link. The answer is the same whether or not the email has an account."""
    if request.method == "POST":
        form = SignInLinkForm(request.POST)
        if _limited(request, "sign-in-link", "5/15m"):
            form.is_valid()
            form.add_error(None, _("Too many links asked for. Wait a few minutes and try again."))
        elif form.is_valid():
            try:
                services.sign_in_link_send(email=form.cleaned_data["email"], language=page_language())
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
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("You are signed in."))
        return redirect(_home_for(user))
    return render(request, "portal/link_confirm.html", {"account": user})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/")

"""A database outage answers 503 with Retry-After, never a 500.

`DatabaseUnavailableMiddleware` turns an outage (refunddesk.core.outages.database_unavailable: a SQLite
lock held past the busy timeout, PostgreSQL refusing connections, a lock timeout...) into
- for /api/: 503 `{"error": {"code": "unavailable", "message": ..., "field": null}}` (the API's error shape),
- for pages: a 503 page in the page's language that needs no database to render,
both with `Retry-After` and `Cache-Control: no-store`. Nothing was half-written: the request's transaction
rolled back, so trying again is safe.

It catches the outage where a view (or the API, with DEBUG off) raised it, through `process_exception`,
and where another middleware did (a session being saved), through Django's `got_request_exception`
signal, replacing the 500 that Django made of it. Place it early in MIDDLEWARE (before the session).
"""

from __future__ import annotations

import logging
import sys

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from refunddesk.core.outages import database_unavailable

log = logging.getLogger("refunddesk.unavailable")
RETRY_AFTER_SECONDS = 5
_MARK = "_refunddesk_database_unavailable"


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 answer to `request` while the database is unavailable: JSON under /api/, a page otherwise,
    in the request's language (LocaleMiddleware's choice, else its cookie and Accept-Language)."""
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(request)
    with translation.override(language):
        message = gettext("The service is briefly unavailable. Please try again in a few seconds.")
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"error": {"code": "unavailable", "message": message, "field": None}}, status=503)
        else:
            response = HttpResponse(
                render_to_string("core/unavailable.html", {
                    "message": message, "again": request.get_full_path() if request.method == "GET" else ""}),
                status=503)
            response["Content-Language"] = language
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """A database outage raised while answering a request becomes `unavailable_response` (503, Retry-After)
    instead of Django's 500; any other error is left alone (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, _MARK, False) and response.status_code == 500:
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        log.warning("database unavailable; answered 503 to %s %s: %s", request.method, request.path, exception)
        return unavailable_response(request)


def _note_outage(sender, request=None, **kwargs) -> None:
    """Django is about to answer 500 for an exception raised outside a view: remember if it was an outage."""
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and database_unavailable(exc):
        log.warning("database unavailable; answering 503 to %s %s: %s", request.method, request.path, exc)
        setattr(request, _MARK, True)


got_request_exception.connect(_note_outage, dispatch_uid="refunddesk-database-unavailable")

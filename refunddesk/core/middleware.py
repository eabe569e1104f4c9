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
import re
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


# --- Chinese pages: no space after a full-width mark ---------------------------------------------------

# a full-width mark of Chinese text, and the spaces a template put after it (between two translated sentences:
# "第 4 版。 这只是预览"), up to the next text or tag
_AFTER_MARK = re.compile(r"([\u3001\u3002\uff01\uff09\uff0c\uff1a\uff1b\uff1f\u300d\u201d])[ \t\r\n]+(?=\S)")
# kept as written: what people typed (a form shown again), code
_VERBATIM = re.compile(r"(<(textarea|pre|script|style)\b.*?</\2>)", re.S | re.I)


def zh_page_spacing(page: str) -> str:
    """An HTML page in Chinese without the spaces that English-minded templates leave after a full-width mark
    (Chinese sets no space there); the content of textarea, pre, script and style is left as it is."""
    parts = _VERBATIM.split(page)
    out = []
    skip = False
    for part in parts:
        if skip:  # the tag name captured by the inner group
            skip = False
            continue
        if _VERBATIM.fullmatch(part or ""):
            out.append(part)
            skip = True
        else:
            out.append(_AFTER_MARK.sub(r"\1", part))
    return "".join(out)


class ChineseSpacingMiddleware:
    """A page rendered in Chinese (zh-hans) gets `zh_page_spacing`: one sentence follows another without a
    space, as Chinese is written, whichever template put them side by side. HTML responses only, not streamed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (not response.streaming and response.get("Content-Type", "").startswith("text/html")
                and (translation.get_language() or "").lower().startswith("zh")):
            charset = response.charset or "utf-8"
            response.content = zh_page_spacing(response.content.decode(charset)).encode(charset)
            if response.has_header("Content-Length"):  # CommonMiddleware, inside this one, may have set it
                response["Content-Length"] = str(len(response.content))
        return response

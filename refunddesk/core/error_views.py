"""The pages shown when a request cannot be served: branded, in the visitor's language, never a traceback.

Django's own handlers render refunddesk/templates/404.html, 403.html and 500.html (500.html is standalone:
it must render when the database is down). These two add what Django's defaults lack:

- `bad_request` (config.urls.handler400): the 400 page with the request's context (the language switcher,
  the signed-in user), and for a request refused before it was read (RequestDataTooBig: a body larger than
  refunddesk reads) the 413 page; TooManyFilesSent says how many files a message may carry. Under /api/ the
  answer is the API's JSON error `{"error": {"code", "message", "field"}}`.
- `csrf_failure` (settings.CSRF_FAILURE_VIEW): the "form has expired" page inside the site's layout.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def _too_many_files_message() -> str:
    return _("That was too many files at once: send at most %(n)d files with one message.") % {
        "n": settings.REFUNDDESK_EVIDENCE_MAX_FILES}


def _too_large_message() -> str:
    return _("That was too much data at once: the files of one message may be %(mb)d MB together. Go back and "
             "send fewer or smaller files.") % {"mb": settings.REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES // (1024 * 1024)}


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400 (413 for RequestDataTooBig): an HTML page, or the API's JSON error under /api/."""
    if isinstance(exception, RequestDataTooBig):
        status, code, message, field = 413, "too_large", _too_large_message(), "files"
    elif isinstance(exception, TooManyFilesSent):
        status, code, message, field = 400, "too_many_files", _too_many_files_message(), "files"
    elif isinstance(exception, TooManyFieldsSent):
        status, code, message, field = 400, "too_many_fields", _("That form had too many fields."), None
    else:
        status, code, message, field = 400, "bad_request", "", None
    if request.path.startswith("/api/"):
        error = {"code": code, "message": message or "the request could not be read."}
        if field:
            error["field"] = field
        return JsonResponse({"error": error}, status=status)
    template = "413.html" if status == 413 else "400.html"
    return render(request, template, {"reason": message}, status=status)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """403: the form was sent without a valid CSRF token (expired, or from another site)."""
    return render(request, "403_csrf.html", status=403)

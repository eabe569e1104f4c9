"""Small helpers shared by the portal's and the console's views."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language

from refunddesk.core import errors
from refunddesk.core.i18n import is_zh

# Shown in the page (or its media player); everything else, PDFs included (they can carry scripts and forms),
# is downloaded as an attachment.
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "video/", "text/plain")


def page_language() -> str:
    """The language of the page being rendered, as the services want it ('zh-hans' or 'en')."""
    return "zh-hans" if is_zh(get_language()) else "en"


def raise_for_page(exc: errors.ApplicationError):
    """An ApplicationError that is not about a form field becomes the friendly 404/403 page."""
    if isinstance(exc, errors.NotFound):
        raise Http404(str(exc.message)) from exc
    if isinstance(exc, errors.PermissionDenied | errors.AuthenticationFailed):
        raise DjangoPermissionDenied(str(exc.message)) from exc
    raise exc


def or_404(func, /, **kwargs):
    """Call a selector; its NotFound becomes the friendly 404 page."""
    try:
        return func(**kwargs)
    except errors.NotFound as exc:
        raise Http404(str(exc.message)) from exc


def role_required(*role_names: str):
    """Signed in and holding at least one of the roles; otherwise the sign-in page or the 403 page."""
    from refunddesk.core.roles import has_role

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not any(has_role(request.user, r) for r in role_names):
                raise DjangoPermissionDenied("missing role")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def safe_next(request: HttpRequest, url: str | None) -> str | None:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return None


def serve_evidence(evidence) -> FileResponse:
    """An evidence file, only ever through a view that checked who is asking (never a public media URL).

    Every answer has `X-Content-Type-Options: nosniff` (the type is the one refunds.evidence found by content;
    the browser must not guess another) and `Content-Security-Policy: default-src 'none'; ...; sandbox` (no
    script, form or plugin of the file runs). Images, videos and plain text are shown inline; PDFs and
    anything else come as attachments (Content-Disposition: attachment). Http404 when storage lost the file.
    """
    try:
        handle = evidence.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("the file is missing from storage") from exc
    inline = evidence.content_type.startswith(INLINE_TYPES)
    response = FileResponse(handle, content_type=evidence.content_type, as_attachment=not inline,
                            filename=evidence.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=600"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response

"""The public status page (no sign-in): regions now, 90 days of availability, incident history."""

from __future__ import annotations

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import get_language

from refunddesk.status.selectors import incident_detail, status_board, status_stamp

# Even without a change the page moves on (an ongoing outage grows, a new day starts).
CACHE_SECONDS = 60


def board_html(language: str) -> str:
    """The page body, rendered once per language and change (the "last change" stamp) and at most
    CACHE_SECONDS old. With a cache shared between processes a change shows at once; with the
    per-process default cache, other processes show it within CACHE_SECONDS."""
    key = f"status:board:{language}:{status_stamp()}"
    html = cache.get(key)
    if html is None:
        html = render_to_string("status/_board.html", {"board": status_board(), "lang": language})
        cache.set(key, html, CACHE_SECONDS)
    return html


def status_page(request: HttpRequest) -> HttpResponse:
    language = get_language() or "zh-hans"
    return render(request, "status/page.html", {"board_html": board_html(language)})


def incident_page(request: HttpRequest, incident_id: int) -> HttpResponse:
    view = incident_detail(incident_id=incident_id)
    if view is None:
        raise Http404("no such incident")
    return render(request, "status/incident.html", {"item": view, "lang": get_language() or "zh-hans"})

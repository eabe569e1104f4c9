"""The public policy pages: the version in force clause by clause, earlier versions, and diffs."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from refunddesk.policies import selectors


def policy_current(request: HttpRequest) -> HttpResponse:
    version = selectors.current_version()
    return _render(request, version, current=True)


def policy_version(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        version = selectors.version_get(pk=pk)
    except Exception:
        raise Http404 from None
    current = selectors.current_version()
    return _render(request, version, current=current is not None and current.pk == version.pk)


def _render(request: HttpRequest, version, *, current: bool) -> HttpResponse:
    lang = get_language() or "zh-hans"
    versions = list(selectors.published_versions())
    previous = next((v for v in versions if version and v.effective_at < version.effective_at), None)
    context = {
        "version": version, "is_current": current, "versions": versions,
        "clauses": selectors.clauses_in_words(version, lang) if version else [],
        "title": version.title(lang) if version else "",
        "previous": previous,
        "diff": selectors.versions_diff(old=previous, new=version) if previous and version else None,
    }
    return render(request, "policies/policy.html", context)

"""The public policy pages: the version in force as a document in sections (and each earlier version), and for
staff the clauses as the engine reads them (conditions, ids, the diff of the documents)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language

from refunddesk.core import roles
from refunddesk.core.errors import NotFound
from refunddesk.policies import selectors

STAFF_ROLES = (roles.AGENT, roles.SUPERVISOR, roles.FINANCE, roles.POLICY_OWNER)


def _is_staff(user) -> bool:
    return any(roles.has_role(user, role) for role in STAFF_ROLES)


def _version(pk: int):
    try:
        return selectors.version_get(pk=pk)
    except NotFound:
        raise Http404 from None


def policy_current(request: HttpRequest) -> HttpResponse:
    return _render(request, selectors.current_version())


def policy_version(request: HttpRequest, pk: int) -> HttpResponse:
    return _render(request, _version(pk))


def _render(request: HttpRequest, version) -> HttpResponse:
    lang = get_language() or "zh-hans"
    current = selectors.current_version()
    doc = selectors.policy_document(version, lang) if version else None
    context = {
        "doc": doc, "current": current, "is_current": current is not None and version is not None
        and current.pk == version.pk, "versions": list(selectors.published_versions()),
        "amount_rules": [c for s in doc.sections for c in s.clauses if c.refund] if doc else [],
        "staff": _is_staff(request.user),
    }
    return render(request, "policies/policy.html", context)


def policy_clauses(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff only: a published version clause by clause as the engine tries them (ids, conditions in words
    and in CEL, explanations as written), and what changed since the version before, by clause."""
    if not request.user.is_authenticated:  # staff who are not signed in yet: to the sign-in page, then back
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path())
    if not _is_staff(request.user):
        raise PermissionDenied("staff only")
    version = _version(pk)
    lang = get_language() or "zh-hans"
    versions = list(selectors.published_versions())
    previous = next((v for v in versions if v.effective_at < version.effective_at), None)
    context = {
        "version": version, "title": version.title(lang), "clauses": selectors.clauses_in_words(version, lang),
        "previous": previous, "diff": selectors.versions_diff(old=previous, new=version) if previous else None,
    }
    return render(request, "policies/clauses.html", context)

"""Reads on policy versions: the public listing, the clauses in words, and diffs between versions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from refunddesk.core.errors import NotFound
from refunddesk.policies.explain import expression_in_words
from refunddesk.policies.models import PolicyVersion
from refunddesk.policies.services import compiled, version_in_force


def published_versions() -> QuerySet[PolicyVersion]:
    return PolicyVersion.objects.defer("document", "cases").order_by("-effective_at", "-id")


def version_get(*, pk: int) -> PolicyVersion:
    version = PolicyVersion.objects.filter(pk=pk).first()
    if version is None:
        raise NotFound("no such policy version.")
    return version


def current_version() -> PolicyVersion | None:
    return version_in_force(at=timezone.now())


@dataclass(frozen=True)
class ClauseView:
    id: str
    outcome: str
    condition_words: str
    summary: str
    explanation: str
    amount: str | None


def clauses_in_words(version: PolicyVersion, language: str) -> list[ClauseView]:
    policy = compiled(version)
    rows = [
        ClauseView(
            id=c.id, outcome=c.outcome, condition_words=expression_in_words(c.condition, language),
            summary=c.summary.get(language) if c.summary else "", explanation=c.explanation.get(language),
            amount=c.amount,
        )
        for c in policy.clauses
    ]
    d = policy.default
    rows.append(ClauseView(id="default", outcome=d.outcome, condition_words="", amount=d.amount,
                           summary=d.summary.get(language) if d.summary else "",
                           explanation=d.explanation.get(language)))
    return rows


@dataclass
class PolicyDiff:
    old: PolicyVersion | None
    new: PolicyVersion | str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # clause id -> fields that changed
    reordered: bool = False
    settings_changed: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # unified diff lines of the documents

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.reordered or self.settings_changed)


def _as_dict(document: str) -> dict:
    """The document normalised, with its store rule as the first clause (it is tried first): a diff
    shows a change of that rule, and the version that moved it from the clauses, as of a clause."""
    from refunddesk.policies.engine import load_policy_text

    policy = load_policy_text(document, "diff")
    out = policy.to_dict()
    out.pop("store_purchases", None)
    out["clauses"] = [c.to_dict() for c in policy.clauses]
    return out


def policy_diff(*, old_document: str | None, new_document: str, old: PolicyVersion | None = None,
                new: PolicyVersion | str = "draft") -> PolicyDiff:
    """Clause by clause (added, removed, changed fields, order), plus the line diff of the documents."""
    diff = PolicyDiff(old=old, new=new)
    b = _as_dict(new_document)
    a = _as_dict(old_document) if old_document else {"clauses": [], "default": {}}
    a_clauses = {c["id"]: c for c in a["clauses"]}
    b_clauses = {c["id"]: c for c in b["clauses"]}
    diff.added = [cid for cid in b_clauses if cid not in a_clauses]
    diff.removed = [cid for cid in a_clauses if cid not in b_clauses]
    for cid, clause in b_clauses.items():
        if cid in a_clauses and clause != a_clauses[cid]:
            keys = sorted(set(clause) | set(a_clauses[cid]))
            diff.changed[cid] = [k for k in keys if clause.get(k) != a_clauses[cid].get(k)]
    if a.get("default") and a["default"] != b["default"]:
        diff.changed["default"] = sorted(k for k in set(a["default"]) | set(b["default"])
                                         if a["default"].get(k) != b["default"].get(k))
    common_a = [c for c in a_clauses if c in b_clauses]
    common_b = [c for c in b_clauses if c in a_clauses]
    diff.reordered = common_a != common_b
    for key in ("title", "review_business_days", "refund_business_days", "contract"):
        if a.get(key) is not None and a.get(key) != b.get(key):
            diff.settings_changed.append(key)
    diff.text = list(difflib.unified_diff(
        (old_document or "").splitlines(), new_document.splitlines(),
        fromfile=str(old) if old else "(nothing)", tofile=str(new), lineterm="",
    ))
    return diff


def versions_diff(*, old: PolicyVersion, new: PolicyVersion) -> PolicyDiff:
    return policy_diff(old_document=old.document, new_document=new.document, old=old, new=new)

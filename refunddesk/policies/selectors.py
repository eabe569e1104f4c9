"""Reads on policy versions: the public listing, the public document (`policy_document`), what a decision
cites (`clause_citation`), the clauses in words for staff, and diffs between versions."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from refunddesk.billing.models import PaymentMethod, Plan
from refunddesk.core.errors import NotFound
from refunddesk.core.i18n import is_zh
from refunddesk.policies.explain import amount_in_words, expression_in_words, public_sections, public_text
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
    explanation: str  # as written, placeholders and all
    amount: str | None
    condition: str = ""  # the CEL
    reapply: bool = False


def clauses_in_words(version: PolicyVersion, language: str) -> list[ClauseView]:
    """For staff: every rule of `version` in the order it is tried, with its id, its condition in words and in
    CEL, its amount expression and its explanation as written."""
    policy = compiled(version)
    rows = [
        ClauseView(
            id=c.id, outcome=c.outcome, condition_words=expression_in_words(c.condition, language),
            summary=c.summary.get(language) if c.summary else "", explanation=c.explanation.get(language),
            amount=c.amount, condition=" ".join(c.condition.split()), reapply=c.reapply,
        )
        for c in policy.clauses
    ]
    d = policy.default
    rows.append(ClauseView(id="default", outcome=d.outcome, condition_words="", amount=d.amount,
                           summary=d.summary.get(language) if d.summary else "",
                           explanation=d.explanation.get(language), reapply=d.reapply))
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


# --- the public document ---------------------------------------------------------------------------------


def rule_anchor(policy, rule_id: str) -> str:
    """The fragment of a rule's place in the public document: its position ("rule-0" the store rule, then
    the clauses, the default last), never its id."""
    return f"rule-{policy.rule_ids.index(rule_id)}"


@dataclass(frozen=True)
class DocClause:
    anchor: str
    outcome: str
    text: str  # the rule in the author's words (explain.public_text)
    refund: str  # what an approval refunds, in words ("" for other outcomes)
    reapply: bool  # a rejection after which the customer may apply again at once


@dataclass(frozen=True)
class DocSection:
    topic: str  # policy.TOPICS; the page gives the standard heading and the generated part of each topic
    title: str  # the document's own heading ("" for the standard one)
    text: str  # the document's own paragraph, or ""
    clauses: list[DocClause]


@dataclass(frozen=True)
class PolicyDocument:
    """The published version `version` as the public reads it, in one language: its sections in order, the
    plans' terms its clauses depend on, the time each step takes, what changed."""

    version: PolicyVersion
    title: str
    sections: list[DocSection]
    plan_terms: list[tuple[str, str]]  # (what, "24 hours on Monthly; no trial on Yearly")
    review_days: int  # business days a review (and an appeal) takes
    refund_days: int  # business days to send an approved refund
    appeal_days: int  # business days after a rejection in which it may be appealed (settings)
    arrival: list[tuple[str, int, int]]  # (payment method, business days from, to) after the refund is sent
    changes: list[str]  # what changed since the previous version, in words
    previous: PolicyVersion | None
    evidence_files: int
    evidence_mb: int
    evidence_total_mb: int
    no_answer: object = None  # policies.policy.NoAnswer: what happens when the customer does not answer, or None


def _joined(items: list[str], language: str) -> str:
    return ("\uff1b" if is_zh(language) else "; ").join(items)


def plan_terms(policy, language: str) -> list[tuple[str, str]]:
    """The plan terms the policy's clauses depend on (plan.trial_hours, plan.refund_window_days,
    plan.period_days), each with its value for every plan in the catalogue, plans of the same value named
    together: ("Trial for new customers", "24 hours on Monthly; no trial on Yearly"). A term the same on
    every plan is given once ("24 hours")."""
    terms = {
        "plan.trial_hours": (_("Trial for new customers"),
                             lambda n: ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n} if n else _("no trial")),
        "plan.refund_window_days": (_("Refund window"),
                                    lambda n: ngettext("%(n)d day after purchase", "%(n)d days after purchase", n)
                                    % {"n": n}),
        "plan.period_days": (_("One paid period"), lambda n: ngettext("%(n)d day", "%(n)d days", n) % {"n": n}),
    }
    plans = list(Plan.objects.order_by("name", "id").values_list("name", "period_days", "refund_window_days",
                                                                 "trial_hours"))
    columns = {"plan.period_days": 1, "plan.refund_window_days": 2, "plan.trial_hours": 3}
    out = []
    for fact, (label, say) in terms.items():
        if fact not in policy.facts or not plans:
            continue
        by_value: dict[int, list[str]] = {}
        for row in plans:
            by_value.setdefault(row[columns[fact]], []).append(row[0])
        if len(by_value) == 1:
            out.append((label, say(next(iter(by_value)))))
            continue
        parts = [_("%(value)s on %(plans)s") % {"value": say(value), "plans": ("\u3001" if is_zh(language) else ", ")
                                                .join(dict.fromkeys(names))}
                 for value, names in by_value.items()]
        out.append((label, _joined(parts, language)))
    return out


def _rule_words(policy, rule_id: str, language: str) -> str:
    try:
        return public_text(policy.clause(rule_id), language)
    except KeyError:
        return ""


def changes_in_words(*, old: PolicyVersion | None, new: PolicyVersion, language: str) -> list[str]:
    """What `new` changed since `old`, for the public, in `language`: the document's own `changes` when it
    has them, else each rule added, changed or no longer applying, said in its words (explain.public_text),
    and the review and refund times when they changed. [] for a first version."""
    policy = compiled(new)
    if policy.changes is not None:
        return [policy.changes.get(language)]
    if old is None:
        return []
    before = compiled(old)
    diff = versions_diff(old=old, new=new)
    lines = [_("New: %(rule)s") % {"rule": _rule_words(policy, cid, language)} for cid in diff.added]
    lines += [_("Changed: %(rule)s") % {"rule": _rule_words(policy, cid, language)} for cid in diff.changed]
    lines += [_("No longer applies: %(rule)s") % {"rule": _rule_words(before, cid, language)} for cid in diff.removed]
    if "review_business_days" in diff.settings_changed:
        lines.append(_("A person now reviews a request within %(n)d business days.") % {"n": policy.review_business_days})
    if "refund_business_days" in diff.settings_changed:
        lines.append(_("An approved refund is now sent within %(n)d business days.") % {"n": policy.refund_business_days})
    if diff.reordered and not lines:
        lines.append(_("The order in which the rules are applied changed."))
    return lines


def policy_document(version: PolicyVersion, language: str) -> PolicyDocument:
    """The public document of a published version in `language` (see PolicyDocument)."""
    policy = compiled(version)
    sections = []
    for section in public_sections(policy):
        rules = [policy.clause(cid) for cid in section.clauses]
        sections.append(DocSection(
            topic=section.topic, title=section.title.get(language) if section.title else "",
            text=section.text.get(language) if section.text else "",
            clauses=[DocClause(anchor=rule_anchor(policy, r.id), outcome=r.outcome, text=public_text(r, language),
                               refund=amount_in_words(r.amount, language) if r.amount else "", reapply=r.reapply)
                     for r in rules]))
    previous = (PolicyVersion.objects.filter(effective_at__lt=version.effective_at).defer("cases")
                .order_by("-effective_at", "-id").first())
    table = settings.REFUNDDESK_ARRIVAL_DAYS
    arrival = [(str(label), int(table[m][0]), int(table[m][1])) for m, label in PaymentMethod.choices if m in table]
    mb = 1024 * 1024
    return PolicyDocument(
        version=version, title=version.title(language), sections=sections, plan_terms=plan_terms(policy, language),
        review_days=policy.review_business_days, refund_days=policy.refund_business_days,
        appeal_days=settings.REFUNDDESK_APPEAL_BUSINESS_DAYS, arrival=arrival,
        changes=changes_in_words(old=previous, new=version, language=language), previous=previous,
        evidence_files=settings.REFUNDDESK_EVIDENCE_MAX_FILES,
        evidence_mb=settings.REFUNDDESK_EVIDENCE_MAX_BYTES // mb,
        evidence_total_mb=settings.REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES // mb, no_answer=policy.no_answer,
    )


#: How a rule without a summary is cited when its explanation cannot stand for it, by outcome.
GENERIC_CITATIONS = {
    "approve": gettext_lazy("A case the policy refunds"),
    "reject": gettext_lazy("A case the policy does not refund"),
    "review": gettext_lazy("A case the policy leaves to a person to decide"),
    "redirect": gettext_lazy("A purchase the store that sold it refunds"),
}


@dataclass(frozen=True)
class Citation:
    """What a decision cites, for the customer: the rule in words and a link to it in the public document
    of the version that decided."""

    text: str
    url: str


def clause_citation(version: PolicyVersion | None, rule_id: str, language: str) -> Citation | None:
    """The citation of rule `rule_id` (a clause id, the store rule's, or "default") of `version`, in
    `language`; None without a version or a rule id, or for an id the version does not have."""
    if version is None or not rule_id:
        return None
    policy = compiled(version)
    if rule_id not in policy.rule_ids:
        return None
    url = reverse("policies:version", kwargs={"pk": version.pk}) + "#" + rule_anchor(policy, rule_id)
    rule = policy.clause(rule_id)
    quotes = rule._templates is not None and any(t.names for t in rule._templates)
    if rule.summary is None and (rule.outcome == "review" or quotes):
        # no words of the author's for the rule itself: its explanation speaks of one decision ("a person will
        # look at it", "{refund}"), which is not what the rule says; the kind of case it is, then
        return Citation(text=str(GENERIC_CITATIONS[rule.outcome]), url=url)
    return Citation(text=public_text(rule, language), url=url)

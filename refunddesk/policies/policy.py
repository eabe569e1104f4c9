"""What a loaded policy is: `Policy`, its ordered `Clause`s and default `Rule`, and `Text` in two
languages. schema.py builds these from a document; evaluation.py runs them.

Everything here is frozen: a compiled policy is shared by every request and thread. The fields
whose names start with "_" are what schema.py prepared for evaluation (the compiled CEL, the
amount program, the parsed templates); they take no part in equality. Pure: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from refunddesk.core.i18n import is_zh
from refunddesk.policies.cel_tree import comparisons, syntax_tree
from refunddesk.policies.computation import Computation
from refunddesk.policies.errors import Problem
from refunddesk.policies.templates import Template

if TYPE_CHECKING:
    from refunddesk.policies.evaluation import TraceStep

__all__ = ["BOUNDS", "LANGS", "NO_ANSWER_OUTCOMES", "OUTCOMES", "TOPICS", "Clause", "NoAnswer", "Policy", "Rule",
           "Section", "Text"]

OUTCOMES = ("approve", "reject", "review", "redirect")
LANGS = ("en", "zh-Hans")
#: The sections of the public policy document, in their standard order (seeds 000 and 003): who can get money
#: back, what is not refunded, what a person decides case by case, how to apply, how long each step takes, how
#: much comes back, how to dispute, how changes are announced, how to reach us. explain.py words them.
TOPICS = ("eligible", "not_refunded", "case_by_case", "apply", "timing", "amount", "disputes", "changes", "contact")
#: The section a clause the document does not place goes to, by its outcome.
TOPIC_OF_OUTCOME = {"approve": "eligible", "reject": "not_refunded", "review": "case_by_case", "redirect": "apply"}
#: What may happen to a request whose customer never answers (`no_answer`), by the state it waits in: a question
#: (waiting_for_customer) is closed or goes back to the agent, who decides without the answer; an offer is
#: closed, taken as accepted, or taken as declined (back to the agent).
NO_ANSWER_OUTCOMES = {"waiting_for_customer": ("close", "review"), "offered": ("close", "accept", "decline")}
#: Which comparisons `Policy.thresholds` reports: the operators (fact on the left) of each bound.
BOUNDS = {"lower": (">=", ">"), "upper": ("<=", "<"), "any": (">=", ">", "<=", "<", "==", "!=")}


class Bilingual:
    """What a text in English (`en`) and Chinese (`zh`) answers, whatever holds the two: a document's `Text`, or a
    decision's explanation rendered on demand (evaluation.Explanation). Subclasses provide `en` and `zh`."""

    __slots__ = ()
    en: str
    zh: str

    def get(self, lang: str) -> str:
        """The text in `lang` (a language code: zh* is Chinese, anything else English); only that one is read."""
        return self.zh if is_zh(lang) else self.en

    def __getitem__(self, lang: str) -> str:
        """text["en"], text["zh-Hans"] (or "zh"), like the document's own mapping; KeyError for other codes."""
        if lang == "en":
            return self.en
        if is_zh(lang):
            return self.zh
        raise KeyError(lang)

    def to_dict(self) -> dict[str, str]:
        """{"en": ..., "zh-Hans": ...}, as in the document (both read)."""
        return {"en": self.en, "zh-Hans": self.zh}


@dataclass(frozen=True, slots=True)
class Text(Bilingual):
    """A text in English (`en`) and Chinese (`zh`, written zh-Hans in documents)."""

    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class Rule:
    """What a clause (or the default) decides. Shared by `Clause` and the policy's default."""

    id: str
    line: int = field(compare=False)  # where it starts in the document (not part of its meaning)
    outcome: str
    amount: str | None
    explanation: Text
    summary: Text | None
    note: str | None
    # reject only: the customer may apply again at once (having done what the explanation asks, e.g. contacted
    # support), so the rejected request does not hold the order for its appeal window (refunds.states)
    reapply: bool = False
    _amount: Any = field(default=None, compare=False, repr=False)
    _templates: tuple[Template, Template] | None = field(default=None, compare=False, repr=False)
    _fixed: Text | None = field(default=None, compare=False, repr=False)  # explanation quoting nothing
    _computation: Computation | None = field(default=None, compare=False, repr=False)  # approve only
    # approve only: (en, zh) explanations that do not quote {computation}; when the engine changes the
    # figure (the cap, or a negative amount made 0) the computation is added to them as a sentence
    _unstated: tuple[bool, bool] = field(default=(False, False), compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The rule as the document writes it (outcome, amount, summary, explanation, note)."""
        out: dict[str, Any] = {"outcome": self.outcome}
        if self.amount is not None:
            out["amount"] = self.amount
        if self.summary is not None:
            out["summary"] = self.summary.to_dict()
        out["explanation"] = self.explanation.to_dict()
        if self.reapply:
            out["reapply"] = True
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True, slots=True)
class Clause(Rule):
    """A rule with a CEL `condition`; `index` is its place in `Policy.clauses` (the order clauses are
    tried in)."""

    condition: str = ""
    index: int = 0
    _condition: Any = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The clause as the document writes it: id, condition, then the rule's keys."""
        return {"id": self.id, "condition": self.condition, **Rule.to_dict(self)}


@dataclass(frozen=True, slots=True)
class Section:
    """A section of the public document (`sections` in the document): its `topic` (one of TOPICS), an optional
    `title` and `text` of the document's own, and the ids of the clauses it shows (the store rule's and
    "default" included), in the order shown."""

    topic: str
    title: Text | None = None
    text: Text | None = None
    clauses: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The section as the document writes it."""
        out: dict[str, Any] = {"topic": self.topic}
        if self.title is not None:
            out["title"] = self.title.to_dict()
        if self.text is not None:
            out["text"] = self.text.to_dict()
        if self.clauses:
            out["clauses"] = list(self.clauses)
        return out


@dataclass(frozen=True, slots=True)
class NoAnswer:
    """What the document says happens when the customer does not answer (`no_answer`): `remind_after` business
    days after the question or offer the customer is reminded, and `close_after` business days after it (more
    than remind_after) the request takes the outcome of the state it waits in (`waiting_for_customer`: close or
    review; `offered`: close, accept or decline; NO_ANSWER_OUTCOMES)."""

    remind_after: int
    close_after: int
    waiting_for_customer: str = "close"
    offered: str = "close"

    def outcome(self, status: str) -> str:
        """The outcome for a request waiting in `status` (waiting_for_customer or offered). KeyError otherwise."""
        if status not in NO_ANSWER_OUTCOMES:
            raise KeyError(status)
        return getattr(self, status)

    def to_dict(self) -> dict[str, Any]:
        """As the document writes it."""
        return {"remind_after": self.remind_after, "close_after": self.close_after,
                "waiting_for_customer": self.waiting_for_customer, "offered": self.offered}


@dataclass(frozen=True, slots=True)
class Policy:
    """A compiled policy document: load it once (schema.load_policy_text), evaluate it many times
    (evaluation.evaluate), from any number of threads.

    `clauses` are every rule with a condition, in the order they are tried: first the store rule
    (`store_rule`: orders sold through the App Store or Google Play go to that store), then the
    document's clauses; `default` decides when none matches."""

    id: str
    version: int
    title: Text
    clauses: tuple[Clause, ...]
    default: Rule
    review_business_days: int
    refund_business_days: int
    contract: int
    facts: tuple[str, ...]  # every fact the policy reads, in contract order
    source_name: str = field(default="<policy>", compare=False)
    digest: str = field(default="", compare=False)  # sha256 of the document text
    warnings: tuple[Problem, ...] = field(default=(), compare=False)  # advice; the document is valid
    # the store rule (clauses[0]) is the engine's standard one: the document has no store_purchases
    store_rule_standard: bool = field(default=False, compare=False)
    # the public document: how the clauses are grouped (`sections`; () when the document does not say, and
    # explain.public_sections groups them by outcome), and what this version changed, in words for customers
    sections: tuple[Section, ...] = ()
    changes: Text | None = None
    # a request waiting for the customer's answer does not wait forever (None: the document does not say)
    no_answer: NoAnswer | None = None
    _convert: Any = field(default=None, compare=False, repr=False)  # facts.Converter for `facts`
    _segments: tuple[tuple[int, int, Any], ...] = field(default=(), compare=False, repr=False)
    _unmatched: tuple[tuple[TraceStep, ...], ...] = field(default=(), compare=False, repr=False)
    _decided: tuple[tuple[TraceStep, ...], ...] = field(default=(), compare=False, repr=False)

    def clause(self, clause_id: str) -> Rule:
        """The clause with this id, or the default for "default". Raises KeyError for any other id."""
        if clause_id == "default":
            return self.default
        for clause in self.clauses:
            if clause.id == clause_id:
                return clause
        raise KeyError(clause_id)

    @property
    def store_rule(self) -> Clause:
        """The rule tried before every clause (`clauses[0]`): orders sold through a store
        (facts.STORE_CHANNELS) are redirected to that store. The document's `store_purchases`, or the
        standard rule when `store_rule_standard` (a document written before store_purchases existed)."""
        return self.clauses[0]

    def thresholds(self, fact: str, *, outcome: str | None = None, bound: str = "lower") -> tuple[int | float, ...]:
        """The numbers that clauses compare `fact` against, ascending, each once.

        `outcome`: only clauses with this outcome (approve, reject, review, redirect; None: every
        clause). `bound`: "lower" (default) for comparisons from which the clause can match upwards,
        `fact >= N` and `fact > N`; "upper" for `fact <= N`, `fact < N`; "any" adds == and !=.

        Read from each condition's syntax tree as CEL parsed it (cel_tree.py), not from its text:
        `outage.longest_hours >= 72.0`, `72.0 <= outage.longest_hours`, `!(outage.longest_hours <
        72.0)` and `outage.longest_hours >= 72.0 && !outage.force_majeure` all give 72.0 for
        thresholds("outage.longest_hours", outcome="approve"). Only comparisons with a constant number
        count (`double(72)` and `-1.0` are constants), whatever else the condition requires: the
        number says where the clause starts to apply, not that it then applies. The default has no
        condition. Raises KeyError for an unknown `bound`; a fact no clause compares gives ().
        """
        operators = BOUNDS[bound]
        found: set[int | float] = set()
        for clause in self.clauses:
            if outcome is not None and clause.outcome != outcome:
                continue
            for op, number in comparisons(syntax_tree(clause._condition), fact):
                if op in operators:
                    found.add(number)
        return tuple(sorted(found))

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Every id a decision can name: the clauses in order, then 'default'."""
        return (*(c.id for c in self.clauses), "default")

    def _store_dict(self) -> dict[str, Any]:
        rule = self.store_rule.to_dict()
        return {"id": rule["id"], **{k: v for k, v in rule.items() if k in ("summary", "explanation", "note")}}

    def to_dict(self) -> dict[str, Any]:
        """The document, normalised (no comments, no line numbers): good for diffs and storage."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title.to_dict(),
            "contract": self.contract,
            "review_business_days": self.review_business_days,
            "refund_business_days": self.refund_business_days,
            **({} if self.store_rule_standard else {"store_purchases": self._store_dict()}),
            **({"changes": self.changes.to_dict()} if self.changes is not None else {}),
            **({"no_answer": self.no_answer.to_dict()} if self.no_answer is not None else {}),
            "clauses": [c.to_dict() for c in self.clauses[1:]],
            "default": self.default.to_dict(),
            **({"sections": [s.to_dict() for s in self.sections]} if self.sections else {}),
        }



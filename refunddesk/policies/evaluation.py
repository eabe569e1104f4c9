"""Evaluation: one request's facts -> a `Decision` (outcome, deciding clause, refund, explanation,
trace), by a compiled `Policy`.

    decision = evaluate(policy, facts)    # facts: JSON-style dict, nested or dotted names

1. The facts the policy reads are converted (facts.py's contract; the policy's own converter,
   fast_facts.py): money to ints of minor units, timestamps to datetimes, and so on. A fact that
   is missing, null or of the wrong type raises FactError naming it: never a silent false.
2. The first clause whose condition is true decides; none: the default. The conditions are
   chained into ONE CEL expression when the policy is loaded (`c0 ? 0 : c1 ? 1 : ... : -1`,
   see `compile_chain`), so one CEL call finds the match; if it fails, the clauses are run one
   at a time to name the one that cannot be evaluated (EvaluationError).
3. An approve rule's amount is computed exactly and settled (amounts.py: not negative, capped at
   what is still refundable), and the trace says so.
4. The explanation (templates.py) is rendered in a language when that language is asked for
   (`Explanation`: a page in Chinese does not pay for the English); when the engine changed the
   clause's figure and the explanation does not quote `{computation}`, the computation is added
   as a sentence (computation.py).

Deterministic: the same facts and the same policy version always give the same Decision.
Pure: no Django.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel

from refunddesk.core.money import Money
from refunddesk.policies.amounts import settle
from refunddesk.policies.cel_env import native_durations, run_env
from refunddesk.policies.facts import EvaluationError, Facts
from refunddesk.policies.policy import Bilingual, Clause, Policy, Rule, Text

__all__ = ["Decision", "Explanation", "TraceStep", "compile_chain", "evaluate"]


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One clause looked at: did it match, and (for the deciding approve rule) what the amount did."""

    clause: str
    matched: bool
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """{"clause", "matched", "notes" (only when there are some)}."""
        out: dict[str, Any] = {"clause": self.clause, "matched": self.matched}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy decided for one request. `refund` and `computed_refund` are set for approve only."""

    policy_id: str
    policy_version: int
    outcome: str
    clause: str  # the deciding clause id, or "default"
    refund: Money | None  # approve only: after the non-negative rule and the cap
    explanation: Text | Explanation  # an Explanation renders each language when first asked for
    trace: tuple[TraceStep, ...]
    computed_refund: Money | None = None  # approve only: what the amount expression gave

    @property
    def amount(self) -> Money | None:
        """The refund (same as `refund`)."""
        return self.refund

    @property
    def capped(self) -> bool:
        """The engine changed the amount expression's figure (the cap, or a negative made 0)."""
        return self.computed_refund is not None and self.refund != self.computed_refund

    def to_json(self) -> dict[str, Any]:
        """The JSON `refunddesk policy evaluate` prints: policy {id, version (a string, as the API writes it)}, outcome, clause, refund
        ({amount, currency} in major units, or null), explanation {en, zh}, trace."""
        return {
            "policy": {"id": self.policy_id, "version": str(self.policy_version)},  # a string, as in the API
            "outcome": self.outcome,
            "clause": self.clause,
            "refund": self.refund.as_json() if self.refund is not None else None,
            "explanation": {"en": self.explanation.en, "zh": self.explanation.zh},
            "trace": [step.to_json() for step in self.trace],
        }


def compile_chain(clauses: Sequence[Clause], start: int, stop: int) -> list[tuple[int, int, Any]]:
    """Compile clauses[start:stop] into one chained expression `c0 ? 0 : c1 ? 1 : ... : -1`
    (one CEL call finds the first match); CEL's parser nests at most 32 deep, so a chain that
    is too deep is split in halves, down to single clauses evaluated one at a time."""
    if stop - start == 0:
        return []
    if stop - start == 1:
        return [(start, 1, None)]
    chunk = clauses[start:stop]
    chain = " : ".join(f"(\n{native_durations(c.condition)}\n) ? {k}" for k, c in enumerate(chunk)) + " : -1"
    try:
        return [(start, stop - start, run_env().compile(chain))]
    except RuntimeError:
        middle = (start + stop) // 2
        return compile_chain(clauses, start, middle) + compile_chain(clauses, middle, stop)


def _failure(value: Any) -> str:
    text = str(value)
    return re.sub(r"^[A-Z_]+: ", "", text)


class _Arenas(threading.local):
    """One CEL arena per thread, replaced every _ARENA_USES evaluations: reusing an arena saves
    an allocation per decision (about 8% of the time), and replacing it bounds what it holds
    (about 100 bytes per evaluation)."""

    arena: Any = None
    left: int = 0


_ARENA_USES = 1024
_arenas = _Arenas()


def _arena() -> Any:
    local = _arenas
    if local.left <= 0:
        local.arena = cel.Arena()
        local.left = _ARENA_USES
    local.left -= 1
    return local.arena


def _find_match(policy: Policy, cel_facts: dict[str, Any]) -> int:
    """Index of the first clause whose condition is true, or -1."""
    segments = policy._segments
    if len(segments) == 1 and segments[0][2] is not None:  # the usual case: one chained expression
        got = segments[0][2].eval(data=cel_facts, arena=_arena()).value()
        if got.__class__ is int:
            return got
    activation = run_env().Activation(cel_facts)
    for start, size, chain in segments:
        if chain is not None:
            got = chain.eval(activation).value()
            if type(got) is int:
                if got >= 0:
                    return start + got
                continue
        # the chain failed (or there is none): go clause by clause to name the culprit
        for clause in policy.clauses[start : start + size]:
            got = clause._condition.eval(activation).value()
            if got is True:
                return clause.index
            if got is not False:
                raise EvaluationError(
                    f"clause '{clause.id}': the condition could not be evaluated: {_failure(got)}",
                    clause=clause.id,
                )
    return -1


def evaluate(policy: Policy, facts: Mapping[str, Any] | Facts) -> Decision:
    """Decide one request. `facts` is a JSON-style dict (flat dotted or nested names; RFC 3339
    timestamps; money as decimal strings in major units) or already converted `Facts`.

    Deterministic: the same facts and the same policy version always give the same Decision.
    """
    converted = facts if isinstance(facts, Facts) else policy._convert(facts)
    index = _find_match(policy, converted.cel)
    if index >= 0:
        rule: Rule = policy.clauses[index]
        trace = policy._unmatched[index]
    else:
        rule = policy.default
        trace = policy._unmatched[len(policy.clauses)]

    refund = computed = None
    if rule.outcome == "approve":
        refund, computed, notes = settle(rule._amount, converted, clause=rule.id, expression=rule.amount)  # type: ignore[arg-type]
        trace = (*trace, TraceStep(rule.id, True, notes))
    elif index >= 0:
        trace = policy._decided[index]  # prebuilt: the unmatched clauses, then this one matched

    explanation = rule._fixed
    if explanation is None or (computed is not None and computed.minor != refund.minor):  # type: ignore[union-attr]
        explanation = Explanation(rule, converted, refund, computed)
    return Decision(
        policy_id=policy.id,
        policy_version=policy.version,
        outcome=rule.outcome,
        clause=rule.id,
        refund=refund,
        explanation=explanation,
        trace=trace,
        computed_refund=computed,
    )


class Explanation(Bilingual):
    """A decision's explanation, rendered in a language only when that language is asked for (`en`, `zh`,
    `get(lang)`, `text["zh-Hans"]`): a caller that shows one language does not pay for the other; each is
    rendered once. Equal to the `Text` with the same two strings.

    When the engine changed the clause's figure (capped it at what is still refundable, or made a negative
    amount 0), an explanation that does not quote {computation} gets the computation as a sentence, so that no
    customer is told an amount the clause's words do not account for."""

    __slots__ = ("_rule", "_facts", "_extras", "_refund", "_computed", "_en", "_zh")

    def __init__(self, rule: Rule, facts: Facts, refund: Any, computed: Money | None):
        self._rule, self._facts, self._refund, self._computed = rule, facts, refund, computed
        self._extras = {"refund": refund, "computed": computed, "computation": rule._computation}
        self._en = self._zh = None

    def _render(self, zh: bool) -> str:
        rule = self._rule
        if rule._fixed is not None:
            text = rule._fixed.zh if zh else rule._fixed.en
        else:
            text = rule._templates[zh].render(self._facts, self._extras)  # type: ignore[index]
        computed = self._computed
        if computed is not None and computed.minor != self._refund.minor and rule._unstated[zh]:
            sentences = rule._computation.sentences(self._facts, self._refund.minor, computed.minor)  # type: ignore[union-attr]
            text = f"{text}{sentences[1]}" if zh else f"{text} {sentences[0]}"
        return text

    @property
    def en(self) -> str:
        """The explanation in English."""
        if self._en is None:
            self._en = self._render(False)
        return self._en

    @property
    def zh(self) -> str:
        """The explanation in Chinese."""
        if self._zh is None:
            self._zh = self._render(True)
        return self._zh

    def text(self) -> Text:
        """Both languages, as a plain Text."""
        return Text(self.en, self.zh)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Text, Explanation)):
            return (self.en, self.zh) == (other.en, other.zh)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.en, self.zh))

    def __repr__(self) -> str:
        return f"Explanation(en={self.en!r}, zh={self.zh!r})"

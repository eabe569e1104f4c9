"""Test cases for a policy document: load them, run them, and check every clause is reached.

A cases file sits beside its policy as `<name>.cases.yaml`::

    policy: standard-14-day          # optional; must match the policy's id
    defaults:                        # facts every case starts from (nested or dotted names)
      now: "2025-03-10T12:00:00+08:00"
      order: {currency: CNY, amount: "30.00", ...}
    cases:
      - name: trial-refund-in-full
        facts: {customer.new: true}  # what this case changes (nested or dotted names)
        expect:
          outcome: approve
          clause: new-user-trial     # or default
          amount: "30.00"            # required for approve (major units), absent otherwise
          currency: CNY              # optional
          says:                      # optional: text the explanation must contain, per language
            en: "CN¥30.00 paid"      #   (one text or a list of texts; en and/or zh-Hans)
            zh-Hans: ["支付金额 ¥30.00"]
        why: ...                     # required when the expected outcome is review

A policy passes when every case passes AND every clause plus the default is the deciding
rule of at least one case: a clause no case reaches is reported as a failure. The document's
`store_purchases` rule counts as a clause (a case must reach it); the standard store rule the
engine gives a document without one does not.

Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from refunddesk.core.errors import ValidationError
from refunddesk.core.i18n import zh_punctuation
from refunddesk.core.money import to_decimal
from refunddesk.policies.errors import PolicyError
from refunddesk.policies.evaluation import Decision, evaluate
from refunddesk.policies.facts import FACTS, EvaluationError, flatten
from refunddesk.policies.policy import OUTCOMES, Policy
from refunddesk.policies.yaml_lines import LineMap, parse_yaml

__all__ = [
    "Case",
    "CaseFile",
    "CaseReport",
    "CaseResult",
    "CasesError",
    "cases_path_for",
    "load_cases",
    "load_cases_text",
    "run_cases",
]


class CasesError(ValidationError):
    """The cases file is invalid; the message names the case and the line."""

    code = "policy_cases_invalid"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    facts: dict[str, Any]  # flat dotted names, defaults already applied
    outcome: str
    clause: str
    amount: Decimal | None = None
    currency: str | None = None
    why: str | None = None
    line: int = 0
    says: tuple[tuple[str, str], ...] = ()  # (lang, text the explanation in that language must contain)


@dataclass(frozen=True, slots=True)
class CaseFile:
    cases: tuple[Case, ...]
    policy_id: str | None = None
    source: str = "<cases>"


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    passed: bool
    decision: Decision | None
    problems: tuple[str, ...] = ()

    def line(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        got = _describe(self.decision) if self.decision is not None else "error"
        text = f"{status}  {self.case.name}: {got}"
        if self.problems:
            text += " -- " + "; ".join(self.problems)
        return text


@dataclass(frozen=True, slots=True)
class CaseReport:
    policy_id: str
    policy_version: int
    results: tuple[CaseResult, ...]
    uncovered: tuple[str, ...]  # clause ids (and "default") no case decided
    problems: tuple[str, ...] = field(default=())  # about the file as a whole

    @property
    def ok(self) -> bool:
        return not self.uncovered and not self.problems and all(r.passed for r in self.results)

    @property
    def failed(self) -> tuple[CaseResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def lines(self) -> list[str]:
        """One line per case, then one per clause no case reached, then one per file problem."""
        out = [r.line() for r in self.results]
        out += [f"FAIL  clause '{c}' is not reached by any case" for c in self.uncovered]
        out += [f"FAIL  {p}" for p in self.problems]
        return out

    def failure_lines(self) -> list[str]:
        return [line for line in self.lines() if line.startswith("FAIL")]

    def summary(self) -> str:
        passed = sum(r.passed for r in self.results)
        total = len(self.results)
        text = f"{passed} of {total} cases passed"
        if self.uncovered:
            text += f"; {len(self.uncovered)} clause(s) not reached by any case: {', '.join(self.uncovered)}"
        if self.problems:
            text += f"; {len(self.problems)} problem(s) with the cases file"
        return ("OK: " if self.ok else "FAILED: ") + text


def _describe(decision: Decision) -> str:
    text = f"{decision.outcome} by {decision.clause}"
    if decision.refund is not None:
        text += f", {decision.refund}"
    return text


def cases_path_for(policy_path: str | Path) -> Path:
    """policies/x.yaml -> policies/x.cases.yaml"""
    p = Path(policy_path)
    name = p.name
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            return p.with_name(name[: -len(suffix)] + ".cases" + suffix)
    return p.with_name(name + ".cases.yaml")


def _facts_block(value: Any, where: str, line: int, source: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CasesError(f"{source}:{line}: {where}: 'facts' must be a mapping of fact names to values")
    flat = flatten(value)
    unknown = [name for name in flat if name not in FACTS]
    if unknown:
        raise CasesError(
            f"{source}:{line}: {where}: unknown fact(s) {', '.join(unknown)} (not in contract v1)"
        )
    return flat


def load_cases_text(text: str, source_name: str = "<cases>") -> CaseFile:
    try:
        doc = parse_yaml(text, source_name)
    except PolicyError as exc:
        raise CasesError(str(exc)) from None
    if not isinstance(doc, LineMap) or not isinstance(doc.get("cases"), list) or not doc["cases"]:
        raise CasesError(f"{source_name}: a cases file is a mapping with a non-empty 'cases' list")
    for key in doc:
        if key not in ("policy", "defaults", "cases"):
            raise CasesError(
                f"{source_name}:{doc.key_lines[key]}: unknown key '{key}' (policy, defaults, cases)"
            )
    defaults = _facts_block(doc.get("defaults"), "defaults", doc.key_lines.get("defaults", 1), source_name)
    cases = []
    names: set[str] = set()
    for index, raw in enumerate(doc["cases"]):
        line = raw.line if isinstance(raw, LineMap) else doc.key_lines["cases"]
        if not isinstance(raw, LineMap):
            raise CasesError(f"{source_name}:{line}: case #{index + 1} must be a mapping")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CasesError(f"{source_name}:{line}: case #{index + 1} needs a 'name'")
        where = f"case '{name}'"
        if name in names:
            raise CasesError(f"{source_name}:{line}: {where}: the name is used twice")
        names.add(name)
        for key in raw:
            if key not in ("name", "facts", "expect", "why"):
                raise CasesError(f"{source_name}:{raw.key_lines[key]}: {where}: unknown key '{key}'")
        facts = {
            **defaults,
            **_facts_block(raw.get("facts"), where, raw.key_lines.get("facts", line), source_name),
        }
        expect = raw.get("expect")
        if not isinstance(expect, LineMap):
            raise CasesError(f"{source_name}:{line}: {where}: 'expect' (outcome, clause, amount) is missing")
        for key in expect:
            if key not in ("outcome", "clause", "amount", "currency", "says"):
                raise CasesError(
                    f"{source_name}:{expect.key_lines[key]}: {where}: unknown key 'expect.{key}'"
                )
        outcome = expect.get("outcome")
        if outcome not in OUTCOMES:
            raise CasesError(
                f"{source_name}:{expect.line}: {where}: expect.outcome must be one of {', '.join(OUTCOMES)}"
            )
        clause = expect.get("clause")
        if not isinstance(clause, str):
            raise CasesError(
                f"{source_name}:{expect.line}: {where}: expect.clause (a clause id or default) is missing"
            )
        amount = None
        if outcome == "approve":
            if expect.get("amount") is None:
                raise CasesError(f"{source_name}:{expect.line}: {where}: an approve case needs expect.amount")
            try:
                amount = to_decimal(expect["amount"], field="expect.amount")
            except ValidationError as exc:
                raise CasesError(f"{source_name}:{expect.line}: {where}: {exc}") from None
        elif expect.get("amount") is not None:
            raise CasesError(f"{source_name}:{expect.line}: {where}: expect.amount is only for approve")
        says = _says(expect, where, source_name)
        why = raw.get("why")
        if outcome == "review" and not (isinstance(why, str) and why.strip()):
            raise CasesError(
                f"{source_name}:{line}: {where}: a case that expects review must say why (the 'why' field)"
            )
        cases.append(
            Case(
                name=name,
                facts=facts,
                outcome=outcome,
                clause=clause,
                amount=amount,
                currency=expect.get("currency"),
                why=why,
                line=line,
                says=says,
            )
        )
    policy_id = doc.get("policy")
    return CaseFile(tuple(cases), policy_id if isinstance(policy_id, str) else None, source_name)


def _says(expect: LineMap, where: str, source: str) -> tuple[tuple[str, str], ...]:
    value = expect.get("says")
    if value is None:
        return ()
    line = expect.key_lines.get("says", expect.line)
    if not isinstance(value, dict) or not value or any(lang not in ("en", "zh-Hans") for lang in value):
        raise CasesError(
            f"{source}:{line}: {where}: expect.says maps en and/or zh-Hans to text the explanation must contain"
        )
    out = []
    for lang, texts in value.items():
        items = texts if isinstance(texts, list) else [texts]
        if not items or not all(isinstance(t, str) and t.strip() for t in items):
            raise CasesError(f"{source}:{line}: {where}: expect.says.{lang} must be text or a list of texts")
        # the document's Chinese is shown with full-width punctuation (schema: core.i18n.zh_punctuation)
        out += [(lang, zh_punctuation(t) if lang == "zh-Hans" else t) for t in items]
    return tuple(out)


def load_cases(path: str | Path) -> CaseFile:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CasesError(f"{path}: cannot read the cases file: {exc.strerror or exc}") from None
    return load_cases_text(text, str(path))


def _check(case: Case, decision: Decision) -> list[str]:
    problems = []
    if decision.outcome != case.outcome:
        problems.append(f"expected outcome {case.outcome}, got {decision.outcome}")
    if decision.clause != case.clause:
        problems.append(f"expected clause {case.clause}, got {decision.clause}")
    if case.outcome == "approve" and decision.refund is not None:
        if case.amount is not None and decision.refund.amount != case.amount:
            problems.append(f"expected amount {case.amount}, got {decision.refund.amount}")
        if case.currency and decision.refund.currency != case.currency:
            problems.append(f"expected currency {case.currency}, got {decision.refund.currency}")
    for lang, text in case.says:
        told = decision.explanation.get(lang)
        if text not in told:
            problems.append(f"expected the {lang} explanation to say {text!r}; it says {told!r}")
    return problems


def run_cases(policy: Policy, cases: CaseFile | Sequence[Case]) -> CaseReport:
    """Run every case against the policy; report failures and clauses no case reached."""
    case_file = cases if isinstance(cases, CaseFile) else CaseFile(tuple(cases))
    file_problems = []
    if case_file.policy_id is not None and case_file.policy_id != policy.id:
        file_problems.append(f"the cases are for policy '{case_file.policy_id}', not '{policy.id}'")
    known = set(policy.rule_ids)
    results = []
    reached: set[str] = set()
    for case in case_file.cases:
        problems = []
        if case.clause not in known:
            problems.append(f"expect.clause '{case.clause}' is not a clause of {policy.id} (nor default)")
        try:
            decision = evaluate(policy, case.facts)
        except EvaluationError as exc:
            results.append(CaseResult(case, False, None, (*problems, f"evaluation error: {exc}")))
            continue
        reached.add(decision.clause)
        problems += _check(case, decision)
        results.append(CaseResult(case, not problems, decision, tuple(problems)))
    # the engine's standard store rule (a document without store_purchases) is not the document's to test
    standard = {policy.store_rule.id} if policy.store_rule_standard else set()
    uncovered = tuple(rule for rule in policy.rule_ids if rule not in reached and rule not in standard)
    return CaseReport(policy.id, policy.version, tuple(results), uncovered, tuple(file_problems))

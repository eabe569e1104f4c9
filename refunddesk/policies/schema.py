"""The policy document: its schema, its validation, and its compilation into a `Policy`.

    policy = load_policy("policies/subscription-vpn.yaml")       # or load_policy_text(text, name)

The document (YAML)::

    id: standard-14-day              # slug
    version: 1                       # positive int
    title: {en: ..., zh-Hans: ...}
    contract: 1                      # optional: the facts contract the document is written for
    review_business_days: 3          # how long a person takes to review (read by the refunds app)
    refund_business_days: 5          # how long the money takes to go back once approved
    store_purchases:                 # tried before every clause (see "Store purchases" below)
      id: store-purchase             # slug, cited by decisions like a clause id
      summary: {en: ..., zh-Hans: ...}         # optional
      explanation: {en: ..., zh-Hans: ...}     # required; may quote {order.sales_channel}
      note: ...                      # optional
    clauses:                         # ordered; the first clause whose condition is true decides
      - id: within-14-days
        condition: request.submitted_at - order.purchased_at <= days(14) && !usage.paid_features_used
        outcome: approve             # approve | reject | review
        amount: order.amount - order.refunded   # approve only, required there (amounts.py)
        summary: {en: ..., zh-Hans: ...}       # optional, plain words for `policy explain`
        explanation: {en: ..., zh-Hans: ...}   # required, told to the customer (templates.py)
        note: ...                    # optional, for the policy's authors
    default:                         # required: what happens when no clause matches
      outcome: review
      explanation: {en: ..., zh-Hans: ...}
    changes: {en: ..., zh-Hans: ...}  # optional: what this version changed, for customers (/policy/, emails)
    no_answer:                       # optional: when the customer does not answer a question or an offer
      remind_after: 3                # business days after the question or offer: the customer is reminded
      close_after: 7                 # business days after it (more than remind_after): then the outcome below
      waiting_for_customer: close    # close | review (back to the agent, who decides without the answer)
      offered: close                 # close | accept (the offer is taken) | decline (back to the agent)
    sections:                        # optional: the public document (/policy/), in this order
      - topic: eligible              # one of policy.TOPICS, each once
        title: {en: ..., zh-Hans: ...}         # optional: the standard heading otherwise
        text: {en: ..., zh-Hans: ...}          # optional: a paragraph of the document's own
        clauses: [within-14-days]    # optional: the clauses shown here (the store rule's id and default too)

A reject clause may say `reapply: true`: the customer may apply again at once once they did what its
explanation asks ("contact support first"); otherwise a rejected request holds its order while it may be
appealed (refunds.states). The public document groups the clauses as `sections` says; a clause no section
shows goes to the section of its outcome (policy.TOPIC_OF_OUTCOME) with a warning, and a document without
`sections` is grouped by outcome alone (explain.public_sections).

Store purchases
---------------
An order sold through the App Store or Google Play (facts.STORE_CHANNELS) was paid to the store,
and only the store can give the money back. That is a rule of the document, `store_purchases`, not
a clause: the engine tries it before every clause, as the first entry of `Policy.clauses` with the
condition `order.sales_channel in ['app_store', 'google_play']` and the outcome redirect. So no
store order can reach an approval (or any other clause), whatever the clauses say, and `refunddesk
policy evaluate` answers what the product does: redirect, citing the rule's id. The rule has an id,
an explanation and optionally a summary and a note; it has no condition, outcome or amount of its
own (writing one is an error). No clause, and not the default, may have the outcome redirect: an
error naming store_purchases, since there is nowhere else to send a customer.

(Chosen over refusing documents whose clauses could let a store order reach an approval: whether a
condition can be true for a store order cannot be decided in general, and a rule that comes first
cannot be got wrong.) A document without `store_purchases` (one published before it existed, whose
versions still decide requests) loads with the standard rule (id `store-purchase`, or with "-rule"
added when a clause of the document has that id) first and a warning; a redirecting clause of such a
document is a warning, not an error. Its cases need not reach the standard rule.

Conditions are CEL over the facts of contract v1 (facts.py says how each fact kind is typed in
CEL; `days(n)` and `hours(n)` make durations). They are type-checked when the document is loaded:
an unknown fact, a type mismatch or a syntax error is a `PolicyError` naming the clause and the
YAML line. Every problem of the document is collected before giving up. Advice that does not make
the document invalid (an amount on order.amount without order.refunded, an approve explanation
without `{computation}`) goes to `Policy.warnings`; `refunddesk policy check` prints it.

Pure: no Django.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from pathlib import Path
from typing import Any

from refunddesk.core.i18n import zh_punctuation
from refunddesk.policies.amounts import AMOUNT_GRAMMAR, NotAmount, amount_program
from refunddesk.policies.cel_env import (
    AMOUNT_ONLY,
    T,
    cel_problems,
    code_only,
    facts_read,
    make_env,
    native_durations,
    run_env,
    unknown_choices,
)
from refunddesk.policies.computation import compile_computation
from refunddesk.policies.errors import PolicyError, Problem
from refunddesk.policies.evaluation import TraceStep, compile_chain
from refunddesk.policies.facts import CONTRACT_VERSION, FACTS, MONEY_FACTS, STORE_CHANNELS
from refunddesk.policies.fast_facts import Converter
from refunddesk.policies.policy import (
    LANGS,
    NO_ANSWER_OUTCOMES,
    OUTCOMES,
    TOPIC_OF_OUTCOME,
    TOPICS,
    Clause,
    NoAnswer,
    Policy,
    Rule,
    Section,
    Text,
)
from refunddesk.policies.templates import APPROVE_ONLY, Template, parse_template
from refunddesk.policies.yaml_lines import LineMap, parse_yaml

__all__ = ["load_policy", "load_policy_text"]

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class _Builder:
    """Validates a parsed document, collecting every problem before giving up."""

    def __init__(self, source: str, *, store_declared: bool = True):
        self.store_declared = store_declared  # the document has its own store_purchases rule
        self.constants: tuple[tuple[str, str], ...] = ()  # placeholders with one value per policy
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []  # advice that does not stop the document from loading
        self.reads: set[str] = set()  # every fact the policy reads
        self.condition_reads: set[str] = set()  # those its conditions read (handed to CEL)

    def problem(self, line: int | None, clause: str | None, message: str) -> None:
        self.problems.append(Problem(line, clause, message))

    def text(self, doc: LineMap, key: str, who: str | None, *, required: bool = True) -> Text | None:
        line = doc.key_lines.get(key, doc.line)
        value = doc.get(key)
        if value is None:
            if required:
                self.problem(
                    doc.line, who, f"'{key}' is missing: give it in both languages (keys en and zh-Hans)"
                )
            return None
        if not isinstance(value, LineMap):
            self.problem(line, who, f"'{key}' must be a mapping with the keys en and zh-Hans")
            return None
        ok = True
        for lang in LANGS:
            item = value.get(lang)
            if not isinstance(item, str) or not item.strip():
                self.problem(
                    line, who, f"'{key}' has no {lang} text: give it in both languages (en and zh-Hans)"
                )
                ok = False
        for extra in value:
            if extra not in LANGS:
                self.problem(
                    value.key_lines.get(extra, line),
                    who,
                    f"'{key}' has an unknown language '{extra}' (use en, zh-Hans)",
                )
                ok = False
        # Chinese is shown with full-width punctuation, whatever keyboard the author typed it on
        return Text(value["en"].strip(), zh_punctuation(value["zh-Hans"].strip())) if ok else None

    def compile(self, expr: Any, *, doc: LineMap, key: str, who: str, want: Any, what: str) -> Any:
        """Type-check a condition (want BOOL) or an amount (want INT) and return what runs it:
        a compiled CEL expression for a condition, a Python function for an amount."""
        line, style = doc.value_starts.get(key, (doc.line, None))
        if not isinstance(expr, str) or not expr.strip():
            self.problem(line, who, f"'{key}' must be a CEL expression (a non-empty string)")
            return None
        block = style in ("|", ">")
        for message in unknown_choices(expr):
            self.problem(line, who, f"{what}: {message}")
        if key != "amount":
            for match in re.finditer(r"(?<![\w.])(" + "|".join(AMOUNT_ONLY) + r")\s*\(", code_only(expr)):
                self.problem(line, who, f"{what}: {match.group(1)}() is for amount expressions only")
                return None
        try:
            compiled = make_env("amount" if key == "amount" else "condition").compile(expr)
        except RuntimeError as exc:
            self.problems.extend(cel_problems(str(exc), what=what, clause=who, base_line=line, block=block))
            return None
        got = compiled.return_type()
        if got != want:
            if key == "amount":
                self.problem(
                    line,
                    who,
                    f"amount: must be an int of minor units, but this expression is {got.name().lower()}; "
                    "use prorate(), prorate_unused() or percent() to scale money exactly",
                )
            else:
                self.problem(
                    line,
                    who,
                    f"{what}: must be true or false (bool), but this expression is {got.name().lower()}",
                )
            return None
        self.reads |= facts_read(expr)
        if key != "amount":
            self.condition_reads |= facts_read(expr)
        if key == "amount":
            try:
                return amount_program(expr)
            except NotAmount as exc:
                self.problem(line, who, f"amount: {exc}: {AMOUNT_GRAMMAR}")
                return None
        try:
            return run_env().compile(native_durations(expr))
        except RuntimeError as exc:  # pragma: no cover - the rewrite keeps a checked expression valid
            self.problem(line, who, f"{what}: cannot be prepared to run: {exc}")
            return None

    def amount_advice(self, doc: LineMap, who: str, amount: str, templates: tuple[Template, Template] | None) -> None:
        """Warnings (not errors: published documents must keep loading) about an approve amount."""
        line = doc.value_starts.get("amount", (doc.line, None))[0]
        reads = facts_read(amount)
        if "order.amount" in reads and "order.refunded" not in reads:
            self.warnings.append(Problem(
                line, who,
                "amount: computed on order.amount without order.refunded, so after an earlier partial refund "
                "only the engine's cap (order.amount - order.refunded) limits it and a fee or proration in it "
                "is lost; compute it on what is still refundable, e.g. order.amount - order.refunded",
            ))
        if templates is not None:
            missing = [lang for lang, t in zip(LANGS, templates, strict=True) if "computation" not in t.names]
            if missing:
                self.warnings.append(Problem(
                    doc.key_lines.get("explanation", doc.line), who,
                    f"explanation ({', '.join(missing)}): does not quote {{computation}}, so the customer is not "
                    "told how the refund was computed (the engine adds it only when its cap or the "
                    "no-negative rule changed the figure)",
                ))

    def rule(self, doc: Any, who: str, *, line: int, is_default: bool, store: bool = False) -> dict[str, Any] | None:
        """Validate what a clause, the default or (`store`) the store rule decides; the keyword arguments
        of `Rule` (without id), or None when the rule is unusable (the problems are recorded)."""
        if not isinstance(doc, LineMap):
            self.problem(line, who if not is_default else "default", "must be a mapping")
            return None
        allowed = {"outcome", "amount", "explanation", "summary", "note", "reapply"}
        if store:
            allowed = {"id", "explanation", "summary", "note"}
        elif not is_default:
            allowed |= {"id", "condition"}
        for key in doc:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                if store and key in ("outcome", "condition", "amount"):
                    hint = f": {STORE_RULE} always redirects, and only store purchases ({', '.join(STORE_CHANNELS)})"
                self.problem(doc.key_lines.get(key, doc.line), who, f"unknown key '{key}'{hint}")
        outcome = "redirect" if store else doc.get("outcome")
        if outcome == "redirect" and not store:
            message = (
                f"outcome redirect is for {STORE_RULE} alone: the only place refunddesk can send a customer is "
                f"the store that sold the order ({', '.join(STORE_CHANNELS)}), and {STORE_RULE} sends those "
                "before any clause is tried; use review for a person to decide"
            )
            where = doc.key_lines.get("outcome", doc.line)
            if self.store_declared:
                self.problem(where, who, message)
            else:  # a document written before store_purchases existed: it must keep loading
                self.warnings.append(Problem(where, who, message))
        if outcome is None:
            self.problem(doc.line, who, f"'outcome' is missing: one of {', '.join(OUTCOMES)}")
        elif outcome not in OUTCOMES:
            close = difflib.get_close_matches(str(outcome), OUTCOMES, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            self.problem(
                doc.key_lines.get("outcome", doc.line),
                who,
                f"outcome '{outcome}' does not exist: use one of {', '.join(OUTCOMES)}{hint}",
            )
            outcome = None
        amount_src = None if store else doc.get("amount")
        compiled_amount = None
        if outcome == "approve":
            if amount_src is None:
                self.problem(
                    doc.line,
                    who,
                    "outcome approve needs an 'amount' expression (int, minor units), e.g. amount: order.amount",
                )
            else:
                amount_src = str(amount_src) if isinstance(amount_src, int) else amount_src
                if isinstance(amount_src, str) and re.search(r"[/%]", code_only(amount_src)):
                    self.problem(
                        doc.value_starts.get("amount", (doc.line, None))[0],
                        who,
                        "amount: '/' and '%' truncate CEL integers; use prorate(amount, part, whole), "
                        "prorate_unused(amount, used, period) or percent(amount, pct)",
                    )
                else:
                    compiled_amount = self.compile(
                        amount_src, doc=doc, key="amount", who=who, want=T.INT, what="amount"
                    )
        elif amount_src is not None and outcome is not None:
            self.problem(
                doc.key_lines.get("amount", doc.line), who, f"'amount' is only for approve, not for {outcome}"
            )
        explanation = self.text(doc, "explanation", who)
        summary = self.text(doc, "summary", who, required=False)
        templates = fixed = None
        if explanation is not None:
            parsed = []
            for lang, text in (("en", explanation.en), ("zh-Hans", explanation.zh)):
                template, errors = parse_template(text, lang, self.constants)
                for error in errors:
                    self.problem(
                        doc.key_lines.get("explanation", doc.line), who, f"explanation ({lang}): {error}"
                    )
                if template is not None:
                    for name in APPROVE_ONLY:
                        if name in template.names and outcome != "approve":
                            self.problem(
                                doc.key_lines.get("explanation", doc.line),
                                who,
                                f"explanation ({lang}): {{{name}}} can only be quoted by an approve outcome",
                            )
                    self.reads |= {n for n in template.names if n in FACTS}
                    parsed.append(template)
            if len(parsed) == 2:
                templates = (parsed[0], parsed[1])
                if parsed[0].fixed is not None and parsed[1].fixed is not None:
                    fixed = Text(parsed[0].fixed, parsed[1].fixed)
        computation = None
        unstated = (False, False)
        if compiled_amount is not None:
            computation = compile_computation(amount_src)
            self.amount_advice(doc, who, amount_src, templates)
            if templates is not None:
                unstated = ("computation" not in templates[0].names, "computation" not in templates[1].names)
        note = doc.get("note")
        if note is not None and not isinstance(note, str):
            self.problem(doc.key_lines.get("note", doc.line), who, "'note' must be text")
            note = None
        reapply = False if store else doc.get("reapply", False)
        if not isinstance(reapply, bool):
            self.problem(doc.key_lines.get("reapply", doc.line), who, "'reapply' is true or false")
            reapply = False
        elif reapply and outcome is not None and outcome != "reject":
            self.problem(doc.key_lines.get("reapply", doc.line), who,
                         f"'reapply' is for reject outcomes only (the customer may apply again at once), not for "
                         f"{outcome}")
            reapply = False
        return {
            "line": doc.line,
            "outcome": outcome,
            "amount": amount_src if outcome == "approve" else None,
            "explanation": explanation,
            "summary": summary,
            "note": note,
            "reapply": reapply,
            "_amount": compiled_amount,
            "_templates": templates,
            "_fixed": fixed,
            "_computation": computation,
            "_unstated": unstated,
        }


def _int_field(b: _Builder, doc: LineMap, key: str, *, minimum: int = 1) -> int | None:
    value = doc.get(key)
    line = doc.key_lines.get(key, doc.line)
    if value is None:
        b.problem(doc.line, None, f"'{key}' is missing (an integer, at least {minimum})")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        b.problem(line, None, f"'{key}' must be an integer, at least {minimum}; got {value!r}")
        return None
    return value


_TOP_KEYS = {
    "id",
    "version",
    "title",
    "contract",
    "review_business_days",
    "refund_business_days",
    "store_purchases",
    "clauses",
    "default",
    "sections",
    "changes",
    "no_answer",
}

#: The document-level rule for store purchases (issue 16 item 4): its key, its condition, and the
#: standard rule the engine applies to a document that has none (one published before it existed).
STORE_RULE = "store_purchases"
STORE_CONDITION = "order.sales_channel in [" + ", ".join(f"'{c}'" for c in STORE_CHANNELS) + "]"
STANDARD_STORE_RULE = """\
id: store-purchase
summary:
  en: Bought through the App Store or Google Play - the store that sold it handles the refund.
  zh-Hans: 通过苹果 App Store 或 Google Play 购买 —— 由售出平台处理退款。
explanation:
  en: >-
    You bought this through {order.sales_channel}, and purchases made there are refunded by the store
    itself: please ask {order.sales_channel} for the refund. We cannot refund purchases made there.
  zh-Hans: 您是通过{order.sales_channel}购买的,此类购买由该平台自行退款,请直接向{order.sales_channel}申请退款。我们无法直接处理此类退款。
"""


def _store_rule(b: _Builder, doc: LineMap, *, taken: set[str]) -> Clause | None:
    """The store rule, the first clause of every policy: the document's `store_purchases`, or the
    standard one (with a warning) for a document that has none. None when the document's is invalid
    (the problems are recorded)."""
    if b.store_declared:
        raw = doc[STORE_RULE]
        line = doc.key_lines[STORE_RULE]
        rule_id = raw.get("id") if isinstance(raw, LineMap) else None
        who = rule_id if isinstance(rule_id, str) else STORE_RULE
        if not isinstance(rule_id, str) or not _SLUG.match(rule_id) or rule_id == "default":
            b.problem(line, who, f"{STORE_RULE} needs an 'id': a slug (not 'default') that decisions cite; got {rule_id!r}")
        elif rule_id in taken:
            b.problem(line, who, f"{STORE_RULE} has the id '{rule_id}' of a clause; give it an id of its own")
    else:
        raw = parse_yaml(STANDARD_STORE_RULE, "<standard store rule>")
        line, who = 0, raw["id"]
        while who in taken:  # a clause of the old document already has this id
            who += "-rule"
        b.warnings.append(Problem(
            doc.line, None,
            f"no {STORE_RULE}: the standard rule '{who}' is applied before every clause (orders sold through "
            f"{', '.join(STORE_CHANNELS)} are sent to that store); write {STORE_RULE} in the document to word it",
        ))
    if not isinstance(raw, LineMap):
        b.problem(line, who, f"{STORE_RULE} is a mapping (id, summary, explanation, note)")
        return None
    condition = b.compile(STORE_CONDITION, doc=raw, key="condition", who=who, want=T.BOOL, what="condition")
    parts = b.rule(raw, who, line=line, is_default=False, store=True)
    if parts is None or condition is None:
        return None
    parts["line"] = line
    return Clause(id=who, condition=STORE_CONDITION, index=0, _condition=condition, **parts)


def _no_answer(b: _Builder, doc: LineMap) -> NoAnswer | None:
    """The document's `no_answer`, validated: remind_after and close_after (business days, close_after more than
    remind_after) and the outcome for each state a request waits for the customer in (NO_ANSWER_OUTCOMES; close
    when not given). None when the document has none (requests then wait for the customer as long as it takes)."""
    raw = doc.get("no_answer")
    if raw is None:
        return None
    line = doc.key_lines.get("no_answer", doc.line)
    if not isinstance(raw, LineMap):
        b.problem(line, None, "'no_answer' is a mapping: remind_after, close_after, waiting_for_customer, offered")
        return None
    known = ("remind_after", "close_after", *NO_ANSWER_OUTCOMES)
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            b.problem(raw.key_lines.get(key, line), None, f"no_answer: unknown key '{key}'{hint}")
    remind = _int_field(b, raw, "remind_after")
    close_after = _int_field(b, raw, "close_after")
    if remind is not None and close_after is not None and close_after <= remind:
        b.problem(raw.key_lines.get("close_after", line), None,
                  f"no_answer: close_after ({close_after}) must be more business days than remind_after ({remind}): "
                  "the customer is reminded first")
    outcomes = {}
    for status, allowed in NO_ANSWER_OUTCOMES.items():
        value = raw.get(status, "close")
        if value not in allowed:
            b.problem(raw.key_lines.get(status, line), None,
                      f"no_answer: {status} is one of {', '.join(allowed)}; got {value!r}")
            value = "close"
        outcomes[status] = value
    if remind is None or close_after is None:
        return None
    return NoAnswer(remind_after=remind, close_after=close_after, **outcomes)


def _sections(b: _Builder, doc: LineMap, rule_ids: list[str], outcomes: dict[str, str]) -> tuple[Section, ...]:
    """The document's `sections` (how the public document groups its clauses), validated: each a mapping with
    a `topic` of TOPICS (each topic once), an optional `title` and `text` in both languages, and optional
    `clauses` (ids of the store rule, the clauses or "default", each in one section at most). A clause no
    section shows is a warning: the public document shows it in the section of its outcome."""
    raw = doc.get("sections")
    if raw is None:
        return ()
    line = doc.key_lines.get("sections", doc.line)
    if not isinstance(raw, list) or not raw:
        b.problem(line, None, f"'sections' is a list of sections, each with a topic ({', '.join(TOPICS)})")
        return ()
    out: list[Section] = []
    placed: dict[str, str] = {}  # clause id -> the topic showing it
    for item in raw:
        where = item.line if isinstance(item, LineMap) else line
        if not isinstance(item, LineMap):
            b.problem(where, None, "a section is a mapping: topic, and optionally title, text, clauses")
            continue
        for key in item:
            if key not in ("topic", "title", "text", "clauses"):
                close = difflib.get_close_matches(str(key), ["topic", "title", "text", "clauses"], n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                b.problem(item.key_lines.get(key, where), None, f"section: unknown key '{key}'{hint}")
        topic = item.get("topic")
        if topic not in TOPICS:
            close = difflib.get_close_matches(str(topic), TOPICS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            b.problem(item.key_lines.get("topic", where), None,
                      f"section: topic {topic!r} is not one of {', '.join(TOPICS)}{hint}")
            continue
        if any(s.topic == topic for s in out):
            b.problem(item.key_lines.get("topic", where), None, f"section: topic '{topic}' is given twice")
            continue
        ids = item.get("clauses", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            b.problem(item.key_lines.get("clauses", where), None, f"section {topic}: 'clauses' is a list of clause ids")
            ids = []
        for clause_id in ids:
            if clause_id not in outcomes:
                close = difflib.get_close_matches(clause_id, rule_ids, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                b.problem(item.key_lines.get("clauses", where), None,
                          f"section {topic}: no clause '{clause_id}'{hint}")
            elif clause_id in placed:
                b.problem(item.key_lines.get("clauses", where), None,
                          f"section {topic}: clause '{clause_id}' is already shown in section {placed[clause_id]}")
            else:
                placed[clause_id] = topic
        out.append(Section(topic=topic, title=b.text(item, "title", None, required=False),
                           text=b.text(item, "text", None, required=False), clauses=tuple(ids)))
    for clause_id in rule_ids:
        if clause_id not in placed and clause_id in outcomes:
            b.warnings.append(Problem(
                line, clause_id, f"no section shows clause '{clause_id}'; the public document shows it in "
                f"'{TOPIC_OF_OUTCOME[outcomes[clause_id]]}', the section of its outcome",
            ))
    return tuple(out)


def load_policy_text(text: str, source_name: str = "<policy>") -> Policy:
    """Parse, validate and compile a policy document. Raises PolicyError listing every problem."""
    doc = parse_yaml(text, source_name)
    if not isinstance(doc, LineMap):
        raise PolicyError(
            [Problem(1, None, "a policy document is a YAML mapping (id, version, title, clauses, default)")],
            source_name,
        )
    b = _Builder(source_name, store_declared=STORE_RULE in doc)
    for key in doc:
        if key not in _TOP_KEYS:
            close = difflib.get_close_matches(str(key), sorted(_TOP_KEYS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            b.problem(doc.key_lines.get(key, doc.line), None, f"unknown key '{key}'{hint}")
    policy_id = doc.get("id")
    if not isinstance(policy_id, str) or not _SLUG.match(policy_id):
        b.problem(
            doc.key_lines.get("id", 1),
            None,
            f"'id' must be a slug such as standard-14-day; got {policy_id!r}",
        )
    version = _int_field(b, doc, "version")
    title = b.text(doc, "title", None)
    contract = doc.get("contract", CONTRACT_VERSION)
    if contract != CONTRACT_VERSION:
        b.problem(
            doc.key_lines.get("contract", doc.line),
            None,
            f"'contract' is {contract!r}, but this engine reads facts contract {CONTRACT_VERSION}",
        )
    review_days = _int_field(b, doc, "review_business_days")
    refund_days = _int_field(b, doc, "refund_business_days")
    if review_days is not None and refund_days is not None:
        b.constants = (("review_business_days", str(review_days)), ("refund_business_days", str(refund_days)))

    clauses: list[Clause] = []
    raw_clauses = doc.get("clauses")
    seen: dict[str, int] = {}
    if not isinstance(raw_clauses, list) or not raw_clauses:
        b.problem(
            doc.key_lines.get("clauses", doc.line), None, "'clauses' must be a non-empty list of clauses"
        )
        raw_clauses = []
    for index, raw in enumerate(raw_clauses):
        line = raw.line if isinstance(raw, LineMap) else doc.key_lines.get("clauses", doc.line)
        clause_id = raw.get("id") if isinstance(raw, LineMap) else None
        who = clause_id if isinstance(clause_id, str) else f"#{index + 1}"
        if not isinstance(clause_id, str) or not _SLUG.match(clause_id) or clause_id == "default":
            b.problem(
                line, who, f"clause #{index + 1} needs an 'id': a slug (not 'default'); got {clause_id!r}"
            )
        elif clause_id in seen:
            b.problem(line, who, f"duplicate clause id '{clause_id}' (first used on line {seen[clause_id]})")
        else:
            seen[clause_id] = line
        if not isinstance(raw, LineMap):
            b.problem(line, who, "a clause is a mapping (id, condition, outcome, explanation)")
            continue
        compiled_condition = None
        if "condition" not in raw:
            b.problem(
                line, who, "'condition' is missing: a CEL expression that is true when the clause applies"
            )
        else:
            compiled_condition = b.compile(
                raw["condition"], doc=raw, key="condition", who=who, want=T.BOOL, what="condition"
            )
        parts = b.rule(raw, who, line=line, is_default=False)
        if parts is None or compiled_condition is None or parts["outcome"] is None:
            continue
        clauses.append(
            Clause(
                id=who,
                condition=raw["condition"].strip(),
                index=index + 1,  # the store rule is tried first
                _condition=compiled_condition,
                **{k: v for k, v in parts.items()},
            )
        )

    store_rule = _store_rule(b, doc, taken=set(seen))
    if store_rule is not None:
        clauses.insert(0, store_rule)

    default_rule = None
    raw_default = doc.get("default")
    if raw_default is None:
        b.problem(
            doc.line,
            "default",
            "'default' is missing: say what happens when no clause matches (outcome and explanation)",
        )
    else:
        parts = b.rule(raw_default, "default", line=doc.key_lines.get("default", doc.line), is_default=True)
        if parts is not None and parts["outcome"] is not None:
            default_rule = Rule(id="default", **parts)

    rule_ids = [c.id for c in clauses] + (["default"] if default_rule is not None else [])
    outcomes_by_id = {c.id: c.outcome for c in clauses}
    if default_rule is not None:
        outcomes_by_id["default"] = default_rule.outcome
    sections = _sections(b, doc, rule_ids, outcomes_by_id)
    changes = b.text(doc, "changes", None, required=False)
    no_answer = _no_answer(b, doc)

    if b.problems:
        raise PolicyError(sorted(b.problems, key=lambda p: p.line or 0), source_name)
    assert title is not None and default_rule is not None and version is not None  # noqa: S101
    assert review_days is not None and refund_days is not None  # noqa: S101

    reads = set(b.reads)
    outcomes = {c.outcome for c in clauses} | {default_rule.outcome}
    if "approve" in outcomes:
        reads |= {"order.currency", "order.amount", "order.refunded"}
    if reads & set(MONEY_FACTS):
        reads.add("order.currency")
    ordered = tuple(name for name in FACTS if name in reads)

    segments = compile_chain(clauses, 0, len(clauses))
    unmatched = tuple(tuple(TraceStep(c.id, False) for c in clauses[:k]) for k in range(len(clauses) + 1))
    return Policy(
        id=policy_id,
        version=version,
        title=title,
        clauses=tuple(clauses),
        default=default_rule,
        review_business_days=review_days,
        refund_business_days=refund_days,
        contract=CONTRACT_VERSION,
        facts=ordered,
        source_name=source_name,
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        warnings=tuple(sorted(b.warnings, key=lambda p: p.line or 0)),
        store_rule_standard=not b.store_declared,
        sections=sections,
        changes=changes,
        no_answer=no_answer,
        _convert=Converter(ordered, b.condition_reads),
        _segments=tuple(segments),
        _unmatched=unmatched,
        _decided=tuple((*unmatched[k], TraceStep(c.id, True)) for k, c in enumerate(clauses)),
    )



def load_policy(path: str | Path) -> Policy:
    """Load a policy document from a file (errors name the file, the clause and the line)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(
            [Problem(None, None, f"cannot read the policy: {exc.strerror or exc}")], str(path)
        ) from None
    return load_policy_text(text, str(path))


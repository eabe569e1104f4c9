"""The policy engine: a refund policy document -> a compiled `Policy` -> `evaluate` -> `Decision`.

Pure: no Django here (tests/policies/test_engine.py checks it). Compile once, evaluate many.

The document (YAML)::

    id: standard-14-day              # slug
    version: 1                       # positive int
    title: {en: ..., zh-Hans: ...}
    contract: 1                      # optional: the facts contract the document is written for
    review_business_days: 3          # how long a person takes to review (read by the refunds app)
    refund_business_days: 5          # how long the money takes to go back once approved
    clauses:                         # ordered; the first clause whose condition is true decides
      - id: within-14-days
        condition: request.submitted_at - order.purchased_at <= days(14) && !usage.paid_features_used
        outcome: approve             # approve | reject | review | redirect
        amount: order.amount         # approve only, required there
        summary: {en: ..., zh-Hans: ...}       # optional, plain words for `policy explain`
        explanation: {en: ..., zh-Hans: ...}   # required, told to the customer
        note: ...                    # optional, for the policy's authors
    default:                         # required: what happens when no clause matches
      outcome: review
      explanation: {en: ..., zh-Hans: ...}

Conditions are CEL over the facts of contract v1 (see facts.py for how each fact kind is
typed in CEL). They are type-checked when the document is loaded: an unknown fact, a type
mismatch or a syntax error is a `PolicyError` naming the clause and the YAML line.

Money in amount expressions
---------------------------
CEL has no decimal type and its integers divide as integers, so:

* money facts (`order.amount`, `order.refunded`, `order.channel_fee`) are CEL ints of MINOR
  units of `order.currency` ("30.00" CNY is 3000; "1200" JPY is 1200);
* an amount expression must have type int: the refund in minor units. It may use money and
  number facts, numbers, `+`, `-`, `*`, parentheses, `math.least`, `math.greatest`, `int()`,
  `double()` and the functions below. `/` and `%` are refused (CEL would truncate); the
  functions compute exactly in Decimal and round ONCE, half-up to the currency's minor unit
  (money.ROUNDING; money.ROUNDING_DESCRIPTION):

      prorate(amount, part, whole)          amount * part / whole         (part, whole: int or double)
      prorate_unused(amount, used, period)  amount * max(period - used, 0) / period
      percent(amount, pct)                  amount * pct / 100           (pct: int or double)

  Doubles are taken as the decimal they print as (a decimal fact such as usage.days_used
  exactly as given), so `prorate_unused(order.amount, usage.days_used, plan.period_days)` for
  3 days of a 30-day 30.00 CNY plan is exactly 27.00 CNY;
* CEL type-checks the amount expression when the document is loaded (unknown facts, type
  mismatches, an amount that is not an int: errors with clause and line); the engine then
  computes it itself, exactly, in Decimal arithmetic with 60 digits - not CEL, because
  cel-expr-python 0.1.3 keeps ~50 bytes per call of a Python-implemented function, which a
  long-running server cannot afford. For the same reason nothing in a condition calls back
  into Python: the time helpers `days(n)` and `hours(n)` (n an int) are rewritten into
  native CEL (`duration(string(n * 86400) + "s")`) before the condition is compiled to run,
  e.g. `request.submitted_at - order.purchased_at <= days(plan.refund_window_days)`.

After the amount expression, the engine applies two rules and records them in the trace:
a negative amount becomes 0 ("computed -1.00 CNY; a refund cannot be negative: 0.00 CNY"),
and the amount is capped at what is still refundable on the order, `order.amount -
order.refunded` ("capped from 30.00 CNY to 10.00 CNY: ..."). Amounts should be computed on
what is still refundable themselves (`order.amount - order.refunded - order.channel_fee`):
a fee or proration applied to the full price is silently lost when the cap cuts it.
`Policy.warnings` names such amounts (and approve explanations without `{computation}`);
`refunddesk policy check` prints them. They are advice: the document still loads.

Explanations may quote facts with placeholders - `{plan.refund_window_days}`,
`{outage.longest_hours}`, `{usage.days_used}`, any fact of the contract - and `{refund}`
(the formatted refund, approve only), `{computation}` (approve only: the amount expression
with this decision's figures, e.g. "CN¥30.00 paid − CN¥10.00 already refunded − CN¥0.18
payment channel fee"; see computation.py), `{review_business_days}`, `{refund_business_days}`.
`{{` and `}}` are literal braces. An unknown placeholder is a load-time error. When the cap
or the no-negative rule changed the figure, `{computation}` says so ("= CN¥29.82, limited to
the CN¥20.00 still refundable (...)"), and an explanation that does not quote it gets the
computation added as a sentence: no customer is told an amount its words do not account for.

Evaluation never answers a silent false: a fact the policy reads that is missing, null or of
the wrong type, or an expression that fails at run time, raises `EvaluationError` (a
`ValidationError`) naming the fact or the clause.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import Any

import yaml
from cel_expr_python import cel
from cel_expr_python.ext import ext_math

from refunddesk.core.errors import ValidationError
from refunddesk.core.money import ROUNDING, ROUNDING_DESCRIPTION, Money, exponent
from refunddesk.policies import facts as facts_module
from refunddesk.policies.computation import Computation, compile_computation
from refunddesk.policies.computation import dotted as _dotted
from refunddesk.policies.facts import (
    CONTRACT_VERSION,
    FACTS,
    EvaluationError,
    FactError,
    Facts,
)

__all__ = [
    "OUTCOMES",
    "Clause",
    "Decision",
    "EvaluationError",
    "FactError",
    "Policy",
    "PolicyError",
    "Problem",
    "Rule",
    "Text",
    "TraceStep",
    "evaluate",
    "load_policy",
    "load_policy_text",
]

OUTCOMES = ("approve", "reject", "review", "redirect")
LANGS = ("en", "zh-Hans")
EXTRA_PLACEHOLDERS = ("refund", "computation", "review_business_days", "refund_business_days")
APPROVE_ONLY = ("refund", "computation")  # placeholders only an approve outcome can quote
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


# --- errors ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None
    clause: str | None
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        who = f"clause '{self.clause}': " if self.clause else ""
        return f"{where}: {who}{self.message}"


class PolicyError(ValidationError):
    """The policy document is invalid. Every problem names the clause (when there is one) and
    the YAML line; `str(error)` is one problem per line, ready to print."""

    code = "policy_invalid"

    def __init__(self, problems: list[Problem], source: str):
        self.problems = tuple(problems)
        self.source = source
        first = self.problems[0] if self.problems else Problem(None, None, "invalid policy")
        self.clause = first.clause
        self.line = first.line
        super().__init__(
            "\n".join(p.render(source) for p in self.problems),
            clause=first.clause or "",
            line=first.line or 0,
        )


# --- the compiled document ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    en: str
    zh: str

    def get(self, lang: str) -> str:
        return self.zh if facts_module.is_zh(lang) else self.en

    def __getitem__(self, lang: str) -> str:
        """text["en"], text["zh-Hans"] (or "zh"), like the document's own mapping."""
        if lang == "en":
            return self.en
        if facts_module.is_zh(lang):
            return self.zh
        raise KeyError(lang)

    def to_dict(self) -> dict[str, str]:
        return {"en": self.en, "zh-Hans": self.zh}


@dataclass(frozen=True, slots=True)
class _Template:
    """An explanation in one language with its placeholders parsed: `parts` are literal str
    or (name,) tuples; `pieces` the same with each placeholder as a ready formatter."""

    parts: tuple[str | tuple[str], ...]
    lang: str = "en"
    constants: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)
    pieces: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        zh = facts_module.is_zh(self.lang)
        constants = dict(self.constants)  # the policy's business days: filled in once, here
        pieces: list[Any] = []
        for part in self.parts:
            if isinstance(part, str) or part[0] in constants:
                text = part if isinstance(part, str) else constants[part[0]]
                if pieces and isinstance(pieces[-1], str):
                    pieces[-1] += text
                else:
                    pieces.append(text)
            elif part[0] in FACTS:
                show = facts_module.fact_formatter(part[0], self.lang)
                pieces.append(lambda facts, extras, show=show: show(facts))
            elif part[0] == "refund":
                pieces.append(lambda facts, extras: _refund_texts(extras)[zh])
            elif part[0] == "computation":
                pieces.append(lambda facts, extras: extras["computation"](facts, extras, zh))
            else:
                pieces.append(lambda facts, extras, name=part[0]: str(extras[name]))
        object.__setattr__(self, "pieces", tuple(pieces))

    @property
    def fixed(self) -> str | None:
        """The text, when it quotes nothing that changes from one decision to the next."""
        if not self.pieces:
            return ""
        return self.pieces[0] if len(self.pieces) == 1 and isinstance(self.pieces[0], str) else None

    def render(self, facts: Facts, extras: Mapping[str, Any]) -> str:
        """The explanation for one decision: facts quoted, {refund} and the business days filled in."""
        return "".join([piece if piece.__class__ is str else piece(facts, extras) for piece in self.pieces])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p[0] for p in self.parts if isinstance(p, tuple))


def _refund_texts(extras: dict[str, Any]) -> tuple[str, str]:
    """{refund} in (en, zh), formatted once per decision for both languages."""
    texts = extras.get("_refund")
    if texts is None:
        refund = extras["refund"]
        texts = extras["_refund"] = facts_module.format_minor_pair(refund.minor, refund.currency)
    return texts


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
    _amount: Any = field(default=None, compare=False, repr=False)
    _templates: tuple[_Template, _Template] | None = field(default=None, compare=False, repr=False)
    _fixed: Text | None = field(default=None, compare=False, repr=False)  # explanation quoting nothing
    _computation: Computation | None = field(default=None, compare=False, repr=False)  # approve only
    # approve only: (en, zh) explanations that do not quote {computation}; when the engine changes the
    # figure (the cap, or a negative amount made 0) the computation is added to them as a sentence
    _unstated: tuple[bool, bool] = field(default=(False, False), compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome}
        if self.amount is not None:
            out["amount"] = self.amount
        if self.summary is not None:
            out["summary"] = self.summary.to_dict()
        out["explanation"] = self.explanation.to_dict()
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True, slots=True)
class Clause(Rule):
    condition: str = ""
    index: int = 0
    _condition: Any = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "condition": self.condition, **Rule.to_dict(self)}


@dataclass(frozen=True, slots=True)
class Policy:
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
    _convert: Any = field(default=None, compare=False, repr=False)  # facts.Converter for `facts`
    _segments: tuple[tuple[int, int, Any], ...] = field(default=(), compare=False, repr=False)
    _unmatched: tuple[tuple[TraceStep, ...], ...] = field(default=(), compare=False, repr=False)
    _decided: tuple[tuple[TraceStep, ...], ...] = field(default=(), compare=False, repr=False)

    def clause(self, clause_id: str) -> Rule:
        if clause_id == "default":
            return self.default
        for clause in self.clauses:
            if clause.id == clause_id:
                return clause
        raise KeyError(clause_id)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Every id a decision can name: the clauses in order, then 'default'."""
        return (*(c.id for c in self.clauses), "default")

    def to_dict(self) -> dict[str, Any]:
        """The document, normalised (no comments, no line numbers): good for diffs and storage."""
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title.to_dict(),
            "contract": self.contract,
            "review_business_days": self.review_business_days,
            "refund_business_days": self.refund_business_days,
            "clauses": [c.to_dict() for c in self.clauses],
            "default": self.default.to_dict(),
        }


# --- decisions --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceStep:
    clause: str
    matched: bool
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"clause": self.clause, "matched": self.matched}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    policy_id: str
    policy_version: int
    outcome: str
    clause: str  # the deciding clause id, or "default"
    refund: Money | None  # approve only: after the non-negative rule and the cap
    explanation: Text
    trace: tuple[TraceStep, ...]
    computed_refund: Money | None = None  # approve only: what the amount expression gave

    @property
    def amount(self) -> Money | None:
        """The refund (same as `refund`)."""
        return self.refund

    @property
    def capped(self) -> bool:
        return self.computed_refund is not None and self.refund != self.computed_refund

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": {"id": self.policy_id, "version": self.policy_version},
            "outcome": self.outcome,
            "clause": self.clause,
            "refund": self.refund.as_json() if self.refund is not None else None,
            "explanation": {"en": self.explanation.en, "zh": self.explanation.zh},
            "trace": [step.to_json() for step in self.trace],
        }


# --- the CEL environment (one per process: the declarations never change) -------------------


def _dec(value: int | float | Decimal) -> Decimal:
    if isinstance(value, int | Decimal):
        return Decimal(value)
    return Decimal(repr(value)).quantize(Decimal("1e-9"))  # a float: the short decimal it prints as


def _round_minor(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUNDING))


def _fn_prorate(amount: int, part: int | float | Decimal, whole: int | float | Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = 60
        den = _dec(whole)
        if den <= 0:
            raise ValueError(f"prorate: the whole must be more than 0, got {den}")
        return _round_minor(Decimal(amount) * _dec(part) / den)


def _fn_prorate_unused(amount: int, used: int | float | Decimal, period: int | float | Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = 60
        den = _dec(period)
        if den <= 0:
            raise ValueError(f"prorate_unused: the period must be more than 0, got {den}")
        unused = max(den - _dec(used), Decimal(0))
        return _round_minor(Decimal(amount) * unused / den)


def _fn_percent(amount: int, pct: int | float | Decimal) -> int:
    with localcontext() as ctx:
        ctx.prec = 60
        return _round_minor(Decimal(amount) * _dec(pct) / 100)


_T = cel.Type
_NUMS = (_T.INT, _T.DOUBLE)

FUNCTIONS_DOC = {
    "prorate": "prorate(amount, part, whole): amount x part / whole, rounded once " + ROUNDING_DESCRIPTION,
    "prorate_unused": "prorate_unused(amount, used, period): amount x max(period - used, 0) / period, rounded once "
    + ROUNDING_DESCRIPTION,
    "percent": "percent(amount, pct): amount x pct / 100, rounded once " + ROUNDING_DESCRIPTION,
    "days": "days(n): a duration of n days (n an int)",
    "hours": "hours(n): a duration of n hours (n an int)",
}
AMOUNT_ONLY = ("prorate", "prorate_unused", "percent")


def _cel_type(kind: str) -> Any:
    return {
        "string": _T.STRING,
        "bool": _T.BOOL,
        "int": _T.INT,
        "double": _T.DOUBLE,
        "timestamp": _T.TIMESTAMP,
        "money": _T.INT,
        "decimal": _T.DOUBLE,
    }[kind]


def _declare(name: str, result: Any, fixed: list[Any], free: int, free_types: tuple[Any, ...] = _NUMS) -> Any:
    """A CEL function declaration (for type checking only: no Python implementation)."""
    combos: list[list[Any]] = [[]]
    for _ in range(free):
        combos = [[*c, t] for c in combos for t in free_types]
    overloads = []
    for combo in combos:
        params = [*fixed, *combo]
        signature = "_".join(p.name().lower() for p in params)
        overloads.append(cel.Overload(f"{name}_{signature}", result, params))
    return cel.FunctionDecl(name, overloads)


_ENVS: dict[str, Any] = {}


def _make_env(kind: str) -> Any:
    """The CEL environments, made once per process (the declarations never change):

    * "condition": facts, days(int), hours(int) - type-checks conditions;
    * "amount": facts, prorate, prorate_unused, percent - type-checks amount expressions;
    * "run": facts only - runs conditions, with days(n)/hours(n) rewritten into native CEL.

    Nothing at run time calls back into Python: cel-expr-python 0.1.3 keeps about 50 bytes
    for every call of a Python-implemented function, which a long-running server cannot
    afford. Amount expressions are therefore run by the engine itself (exactly, in Decimal)
    after CEL has type-checked them.
    """
    env = _ENVS.get(kind)
    if env is None:
        functions = []
        if kind in ("condition", "amount"):
            functions += [
                _declare("days", _T.DURATION, [], 1, (_T.INT,)),
                _declare("hours", _T.DURATION, [], 1, (_T.INT,)),
            ]
        if kind == "amount":
            functions += [
                _declare("prorate", _T.INT, [_T.INT], 2),
                _declare("prorate_unused", _T.INT, [_T.INT], 2),
                _declare("percent", _T.INT, [_T.INT], 1),
            ]
        env = cel.NewEnv(
            variables={name: _cel_type(spec.kind) for name, spec in FACTS.items()},
            functions=functions or None,
            extensions=[ext_math.ExtMath()],
        )
        _ENVS[kind] = env
    return env


def _env() -> Any:
    """The environment conditions run in."""
    return _make_env("run")


_DURATION_CALL = re.compile(r"(?<![\w.])(days|hours)\s*\(")
_SECONDS = {"days": 86400, "hours": 3600}


def _native_durations(expr: str) -> str:
    """days(X) -> duration(string((X) * 86400) + "s"), hours(X) likewise: the same duration,
    computed by CEL itself. Parentheses inside string literals are not counted."""
    code = _code_only(expr)
    for match in reversed(list(_DURATION_CALL.finditer(code))):
        depth, end = 0, None
        for k in range(match.end() - 1, len(code)):
            if code[k] == "(":
                depth += 1
            elif code[k] == ")":
                depth -= 1
                if depth == 0:
                    end = k
                    break
        if end is None:  # unbalanced: the type check has already refused it
            continue
        inner = expr[match.end() : end]
        seconds = _SECONDS[match.group(1)]
        expr = f'{expr[: match.start()]}duration(string(({inner}) * {seconds}) + "s"){expr[end + 1 :]}'
        code = _code_only(expr)
    return expr


# --- amount expressions, run exactly ------------------------------------------------------------


class _NotAmount(Exception):
    pass


_AMOUNT_CTX = Context(prec=60, rounding=ROUNDING)


def _to_int(value: int | Decimal) -> int:
    return value if isinstance(value, int) else int(value)  # CEL int(double) truncates toward zero


def _to_dec(value: int | Decimal) -> Decimal:
    return Decimal(value)


def _least(*values: Any) -> Any:
    return min(values)


def _greatest(*values: Any) -> Any:
    return max(values)


_AMOUNT_FUNCTIONS: dict[str, tuple[int | None, Callable[..., Any]]] = {
    "prorate": (3, _fn_prorate),
    "prorate_unused": (3, _fn_prorate_unused),
    "percent": (2, _fn_percent),
    "math.least": (None, _least),
    "math.greatest": (None, _greatest),
    "int": (1, _to_int),
    "double": (1, _to_dec),
}
_AMOUNT_GRAMMAR = (
    "an amount may use money and number facts, numbers, + - *, parentheses, "
    "prorate(), prorate_unused(), percent(), math.least(), math.greatest(), int() and double()"
)


def _amount_node(node: ast.AST) -> Callable[[Facts], Any]:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = node.value if isinstance(node.value, int) else Decimal(repr(node.value))
        return lambda facts: value
    name = _dotted(node)
    if name is not None:
        spec = FACTS.get(name)
        if spec is None or spec.kind not in ("money", "int", "double", "decimal"):
            raise _NotAmount(f"'{name}' cannot be used in an amount")
        if spec.kind == "double":
            return lambda facts: Decimal(repr(facts.raw(name)))
        if spec.kind == "decimal":
            return lambda facts: facts.value(name)
        return lambda facts: facts.raw(name)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
        left, right = _amount_node(node.left), _amount_node(node.right)
        if isinstance(node.op, ast.Add):
            return lambda facts: left(facts) + right(facts)
        if isinstance(node.op, ast.Sub):
            return lambda facts: left(facts) - right(facts)
        return lambda facts: left(facts) * right(facts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _amount_node(node.operand)
        return lambda facts: -operand(facts)
    if isinstance(node, ast.Call) and not node.keywords:
        fname = _dotted(node.func)
        if fname in _AMOUNT_FUNCTIONS:
            arity, fn = _AMOUNT_FUNCTIONS[fname]
            if arity is not None and len(node.args) != arity:
                raise _NotAmount(f"{fname}() takes {arity} arguments")
            args = [_amount_node(a) for a in node.args]
            return lambda facts: fn(*[a(facts) for a in args])
        raise _NotAmount(f"{fname or 'this call'}() cannot be used in an amount")
    raise _NotAmount(f"'{ast.unparse(node)}' cannot be used in an amount")


def _amount_program(expr: str) -> Callable[[Facts], int]:
    """Compile a (CEL type-checked) amount expression into a Python function of the facts
    that computes it exactly: ints stay ints, doubles become Decimals of their short form."""
    try:
        tree = ast.parse(" ".join(expr.split()), mode="eval")
    except SyntaxError:
        raise _NotAmount("this expression") from None
    body = _amount_node(tree.body)

    def run(facts: Facts) -> int:
        with localcontext(_AMOUNT_CTX):
            return body(facts)

    return run


# --- YAML with line numbers -------------------------------------------------------------------


class _Map(dict):
    """A YAML mapping that remembers where it and each of its values start (1-based lines)."""

    line: int = 0
    key_lines: dict[str, int]
    value_starts: dict[str, tuple[int, str | None]]  # key -> (line of the value, scalar style)


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int):
        self.key, self.line = key, line


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    out.value_starts = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, int | float) and not isinstance(key, bool):
            key = str(key)
        if key in out:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
        style = getattr(value_node, "style", None)
        out.value_starts[key] = (value_node.start_mark.line + 1, style)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except _DuplicateKey as exc:
        raise PolicyError([Problem(exc.line, None, f"the key '{exc.key}' appears twice")], source) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise PolicyError([Problem(line, None, f"not valid YAML: {exc.problem or exc}")], source) from None
    except yaml.YAMLError as exc:
        raise PolicyError([Problem(None, None, f"not valid YAML: {exc}")], source) from None


# --- loading and validation ------------------------------------------------------------------

_CEL_ERROR = re.compile(r"<input>:(-?\d+):(-?\d+): ")


def _string_spans(expr: str) -> list[tuple[int, int]]:
    """Where the string literals are in a CEL expression (so scans can skip them)."""
    spans = []
    i, n = 0, len(expr)
    while i < n:
        ch = expr[i]
        if ch == "/" and expr.startswith("//", i):
            end = expr.find("\n", i)
            end = n if end < 0 else end
            spans.append((i, end))
            i = end
            continue
        if ch in "'\"":
            quote = expr[i : i + 3] if expr[i : i + 3] in ("'''", '"""') else ch
            raw = i > 0 and expr[i - 1] in "rR"
            j = i + len(quote)
            while j < n and not expr.startswith(quote, j):
                j += 2 if (expr[j] == "\\" and not raw) else 1
            spans.append((i, min(j + len(quote), n)))
            i = j + len(quote)
            continue
        i += 1
    return spans


def _code_only(expr: str) -> str:
    """The expression with string literals and comments blanked out (same length)."""
    chars = list(expr)
    for start, end in _string_spans(expr):
        for k in range(start, end):
            if chars[k] != "\n":
                chars[k] = " "
    return "".join(chars)


_IDENT = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _facts_read(expr: str) -> set[str]:
    found = set()
    for match in _IDENT.finditer(_code_only(expr)):
        parts = match.group(0).split(".")
        for k in range(len(parts), 0, -1):
            name = ".".join(parts[:k])
            if name in FACTS:
                found.add(name)
                break
    return found


_LITERAL = r"""(?:'([^'\\]*)'|"([^"\\]*)")"""


def _bad_choices(expr: str) -> list[str]:
    """String literals compared with a fixed-vocabulary fact that are not in its vocabulary."""
    problems = []
    for name, spec in FACTS.items():
        if not spec.choices or name not in expr:
            continue
        esc = re.escape(name)
        literals: list[str] = []
        for m in re.finditer(rf"(?<![\w.]){esc}\s*(?:==|!=)\s*{_LITERAL}", expr):
            literals.append(m.group(1) if m.group(1) is not None else m.group(2))
        for m in re.finditer(rf"{_LITERAL}\s*(?:==|!=)\s*{esc}(?![\w.])", expr):
            literals.append(m.group(1) if m.group(1) is not None else m.group(2))
        for m in re.finditer(rf"(?<![\w.]){esc}\s+in\s*\[([^\]]*)\]", expr):
            for lit in re.finditer(_LITERAL, m.group(1)):
                literals.append(lit.group(1) if lit.group(1) is not None else lit.group(2))
        for lit in literals:
            if lit not in spec.choices:
                close = difflib.get_close_matches(lit, spec.choices, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                problems.append(f"'{lit}' is not a value of {name} (one of: {', '.join(spec.choices)}){hint}")
    return problems


def _friendly_cel_error(message: str) -> str:
    hints = []
    m = re.search(r"undeclared reference to '([^']+)'", message)
    if m:
        close = difflib.get_close_matches(m.group(1), list(FACTS) + list(FUNCTIONS_DOC), n=1)
        hint = f"'{m.group(1)}' is not a fact of contract v{CONTRACT_VERSION}"
        if close:
            hint += f"; did you mean '{close[0]}'?"
        hints.append(hint)
    if re.search(
        r"applied to '\([^)]*\bint\b[^)]*\bdouble\b|applied to '\([^)]*\bdouble\b[^)]*\bint\b", message
    ):
        hints.append(
            "CEL does not mix int and double: write 72.0 rather than 72, or convert with double(...)"
        )
    if hints:
        message += "\n  hint: " + "\n  hint: ".join(hints)
    return message


def _cel_problems(
    raw_error: str, *, what: str, clause: str | None, base_line: int, block: bool
) -> list[Problem]:
    """Turn CEL's 'ERROR: <input>:L:C: msg\\n | expr\\n | ..^' into Problems with YAML lines."""
    text = raw_error
    for prefix in ("INVALID_ARGUMENT: ", "CANCELLED: "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = re.sub(r"\s*\[(INVALID_ARGUMENT|CANCELLED)\]\s*$", "", text)
    chunks = [c for c in re.split(r"(?m)^ERROR: ", text) if c.strip()]
    problems = []
    for chunk in chunks or [text]:
        line = base_line
        m = _CEL_ERROR.match(chunk)
        if m:
            chunk = chunk[m.end() :]
            cel_line = int(m.group(1))
            if cel_line > 0:
                line = base_line + cel_line - (0 if block else 1)
        first, _, rest = chunk.partition("\n")
        message = _friendly_cel_error(f"{what}: {first.strip()}")
        if rest.strip():
            message += "\n" + "\n".join("    " + r for r in rest.rstrip().splitlines())
        problems.append(Problem(line, clause, message))
    return problems


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def _parse_template(
    text: str, lang: str = "en", constants: tuple[tuple[str, str], ...] = ()
) -> tuple[_Template | None, list[str]]:
    parts: list[str | tuple[str]] = []
    errors: list[str] = []
    pos = 0
    literal = []
    for m in _PLACEHOLDER.finditer(text):
        literal.append(text[pos : m.start()])
        pos = m.end()
        token = m.group(0)
        if token == "{{":
            literal.append("{")
        elif token == "}}":
            literal.append("}")
        elif m.group(1) is not None:
            name = m.group(1).strip()
            if name not in FACTS and name not in EXTRA_PLACEHOLDERS:
                close = difflib.get_close_matches(name, list(FACTS) + list(EXTRA_PLACEHOLDERS), n=1)
                hint = f"; did you mean {{{close[0]}}}?" if close else ""
                errors.append(f"unknown placeholder {{{name}}}{hint}")
                continue
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append((name,))
        else:
            errors.append(f"a lone '{token}': write {token}{token} for a literal brace")
    literal.append(text[pos:])
    if "".join(literal):
        parts.append("".join(literal))
    return (_Template(tuple(parts), lang, constants) if not errors else None), errors


class _Builder:
    """Validates a parsed document, collecting every problem before giving up."""

    def __init__(self, source: str):
        self.constants: tuple[tuple[str, str], ...] = ()  # placeholders with one value per policy
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []  # advice that does not stop the document from loading
        self.reads: set[str] = set()  # every fact the policy reads
        self.condition_reads: set[str] = set()  # those its conditions read (handed to CEL)

    def problem(self, line: int | None, clause: str | None, message: str) -> None:
        self.problems.append(Problem(line, clause, message))

    def text(self, doc: _Map, key: str, who: str | None, *, required: bool = True) -> Text | None:
        line = doc.key_lines.get(key, doc.line)
        value = doc.get(key)
        if value is None:
            if required:
                self.problem(
                    doc.line, who, f"'{key}' is missing: give it in both languages (keys en and zh-Hans)"
                )
            return None
        if not isinstance(value, _Map):
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
        return Text(value["en"].strip(), value["zh-Hans"].strip()) if ok else None

    def compile(self, expr: Any, *, doc: _Map, key: str, who: str, want: Any, what: str) -> Any:
        """Type-check a condition (want BOOL) or an amount (want INT) and return what runs it:
        a compiled CEL expression for a condition, a Python function for an amount."""
        line, style = doc.value_starts.get(key, (doc.line, None))
        if not isinstance(expr, str) or not expr.strip():
            self.problem(line, who, f"'{key}' must be a CEL expression (a non-empty string)")
            return None
        block = style in ("|", ">")
        for message in _bad_choices(expr):
            self.problem(line, who, f"{what}: {message}")
        if key != "amount":
            for match in re.finditer(r"(?<![\w.])(" + "|".join(AMOUNT_ONLY) + r")\s*\(", _code_only(expr)):
                self.problem(line, who, f"{what}: {match.group(1)}() is for amount expressions only")
                return None
        try:
            compiled = _make_env("amount" if key == "amount" else "condition").compile(expr)
        except RuntimeError as exc:
            self.problems.extend(_cel_problems(str(exc), what=what, clause=who, base_line=line, block=block))
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
        self.reads |= _facts_read(expr)
        if key != "amount":
            self.condition_reads |= _facts_read(expr)
        if key == "amount":
            try:
                return _amount_program(expr)
            except _NotAmount as exc:
                self.problem(line, who, f"amount: {exc}: {_AMOUNT_GRAMMAR}")
                return None
        try:
            return _env().compile(_native_durations(expr))
        except RuntimeError as exc:  # pragma: no cover - the rewrite keeps a checked expression valid
            self.problem(line, who, f"{what}: cannot be prepared to run: {exc}")
            return None

    def amount_advice(self, doc: _Map, who: str, amount: str, templates: tuple[_Template, _Template] | None) -> None:
        """Warnings (not errors: published documents must keep loading) about an approve amount."""
        line = doc.value_starts.get("amount", (doc.line, None))[0]
        reads = _facts_read(amount)
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

    def rule(self, doc: Any, who: str, *, line: int, is_default: bool) -> dict[str, Any] | None:
        if not isinstance(doc, _Map):
            self.problem(line, who if not is_default else "default", "must be a mapping")
            return None
        allowed = {"outcome", "amount", "explanation", "summary", "note"}
        if not is_default:
            allowed |= {"id", "condition"}
        for key in doc:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.problem(doc.key_lines.get(key, doc.line), who, f"unknown key '{key}'{hint}")
        outcome = doc.get("outcome")
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
        amount_src = doc.get("amount")
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
                if isinstance(amount_src, str) and re.search(r"[/%]", _code_only(amount_src)):
                    self.problem(
                        doc.value_starts.get("amount", (doc.line, None))[0],
                        who,
                        "amount: '/' and '%' truncate CEL integers; use prorate(amount, part, whole), "
                        "prorate_unused(amount, used, period) or percent(amount, pct)",
                    )
                else:
                    compiled_amount = self.compile(
                        amount_src, doc=doc, key="amount", who=who, want=_T.INT, what="amount"
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
                template, errors = _parse_template(text, lang, self.constants)
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
        return {
            "line": doc.line,
            "outcome": outcome,
            "amount": amount_src if outcome == "approve" else None,
            "explanation": explanation,
            "summary": summary,
            "note": note,
            "_amount": compiled_amount,
            "_templates": templates,
            "_fixed": fixed,
            "_computation": computation,
            "_unstated": unstated,
        }


def _int_field(b: _Builder, doc: _Map, key: str, *, minimum: int = 1) -> int | None:
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
    "clauses",
    "default",
}


def load_policy_text(text: str, source_name: str = "<policy>") -> Policy:
    """Parse, validate and compile a policy document. Raises PolicyError listing every problem."""
    doc = _parse_yaml(text, source_name)
    if not isinstance(doc, _Map):
        raise PolicyError(
            [Problem(1, None, "a policy document is a YAML mapping (id, version, title, clauses, default)")],
            source_name,
        )
    b = _Builder(source_name)
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
        line = raw.line if isinstance(raw, _Map) else doc.key_lines.get("clauses", doc.line)
        clause_id = raw.get("id") if isinstance(raw, _Map) else None
        who = clause_id if isinstance(clause_id, str) else f"#{index + 1}"
        if not isinstance(clause_id, str) or not _SLUG.match(clause_id) or clause_id == "default":
            b.problem(
                line, who, f"clause #{index + 1} needs an 'id': a slug (not 'default'); got {clause_id!r}"
            )
        elif clause_id in seen:
            b.problem(line, who, f"duplicate clause id '{clause_id}' (first used on line {seen[clause_id]})")
        else:
            seen[clause_id] = line
        if not isinstance(raw, _Map):
            b.problem(line, who, "a clause is a mapping (id, condition, outcome, explanation)")
            continue
        compiled_condition = None
        if "condition" not in raw:
            b.problem(
                line, who, "'condition' is missing: a CEL expression that is true when the clause applies"
            )
        else:
            compiled_condition = b.compile(
                raw["condition"], doc=raw, key="condition", who=who, want=_T.BOOL, what="condition"
            )
        parts = b.rule(raw, who, line=line, is_default=False)
        if parts is None or compiled_condition is None or parts["outcome"] is None:
            continue
        clauses.append(
            Clause(
                id=who,
                condition=raw["condition"].strip(),
                index=index,
                _condition=compiled_condition,
                **{k: v for k, v in parts.items()},
            )
        )

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

    if b.problems:
        raise PolicyError(sorted(b.problems, key=lambda p: p.line or 0), source_name)
    assert title is not None and default_rule is not None and version is not None  # noqa: S101
    assert review_days is not None and refund_days is not None  # noqa: S101

    reads = set(b.reads)
    outcomes = {c.outcome for c in clauses} | {default_rule.outcome}
    if "approve" in outcomes:
        reads |= {"order.currency", "order.amount", "order.refunded"}
    if reads & set(facts_module.MONEY_FACTS):
        reads.add("order.currency")
    ordered = tuple(name for name in FACTS if name in reads)

    segments = _segments(clauses, 0, len(clauses))
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
        _convert=facts_module.Converter(ordered, b.condition_reads),
        _segments=tuple(segments),
        _unmatched=unmatched,
        _decided=tuple((*unmatched[k], TraceStep(c.id, True)) for k, c in enumerate(clauses)),
    )


def _segments(clauses: list[Clause], start: int, stop: int) -> list[tuple[int, int, Any]]:
    """Compile clauses[start:stop] into one chained expression `c0 ? 0 : c1 ? 1 : ... : -1`
    (one CEL call finds the first match); CEL's parser nests at most 32 deep, so a chain that
    is too deep is split in halves, down to single clauses evaluated one at a time."""
    if stop - start == 0:
        return []
    if stop - start == 1:
        return [(start, 1, None)]
    chunk = clauses[start:stop]
    chain = " : ".join(f"(\n{_native_durations(c.condition)}\n) ? {k}" for k, c in enumerate(chunk)) + " : -1"
    try:
        return [(start, stop - start, _env().compile(chain))]
    except RuntimeError:
        middle = (start + stop) // 2
        return _segments(clauses, start, middle) + _segments(clauses, middle, stop)


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


# --- evaluation --------------------------------------------------------------------------------


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
    activation = _env().Activation(cel_facts)
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
        refund, computed, notes = _amount(rule, converted)
        trace = (*trace, TraceStep(rule.id, True, notes))
    elif index >= 0:
        trace = policy._decided[index]  # prebuilt: the unmatched clauses, then this one matched

    explanation = rule._fixed
    if explanation is None:
        extras = {"refund": refund, "computed": computed, "computation": rule._computation}
        en_t, zh_t = rule._templates  # type: ignore[misc]
        explanation = Text(en_t.render(converted, extras), zh_t.render(converted, extras))
    if computed is not None and computed.minor != refund.minor:  # type: ignore[union-attr]
        explanation = _stating_the_change(rule, explanation, converted, refund, computed)
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


def _stating_the_change(rule: Rule, explanation: Text, converted: Facts, refund: Any, computed: Money) -> Text:
    """The engine changed the clause's figure (capped it at what is still refundable, or made a
    negative amount 0): an explanation that does not quote {computation} gets it as a sentence,
    so that no customer is told an amount the clause's words do not account for."""
    en_missing, zh_missing = rule._unstated
    if not (en_missing or zh_missing):
        return explanation
    computation = rule._computation
    assert computation is not None  # noqa: S101 - every approve rule has one
    sentence_en, sentence_zh = computation.sentences(converted, refund.minor, computed.minor)
    return Text(
        f"{explanation.en} {sentence_en}" if en_missing else explanation.en,
        f"{explanation.zh}{sentence_zh}" if zh_missing else explanation.zh,
    )


def _amount(rule: Rule, converted: Facts) -> tuple[Money, Money, tuple[str, ...]]:
    try:
        got = rule._amount(converted)
    except (ValueError, ArithmeticError) as exc:
        raise EvaluationError(
            f"clause '{rule.id}': the amount could not be evaluated: {exc}", clause=rule.id
        ) from None
    if type(got) is not int:  # pragma: no cover - CEL checked that the amount is an int
        raise EvaluationError(f"clause '{rule.id}': the amount is not an int of minor units", clause=rule.id)
    currency = converted.currency
    computed = Money(got, currency)
    notes = [f"amount {rule.amount} = {_plain(got, currency)}"]
    minor = got
    if minor < 0:
        notes.append(f"computed {_plain(got, currency)}; a refund cannot be negative: {_plain(0, currency)}")
        minor = 0
    paid = converted.raw("order.amount")
    refunded = converted.raw("order.refunded")
    refundable = max(paid - refunded, 0)
    if minor > refundable:
        notes.append(
            f"capped from {_plain(minor, currency)} to {_plain(refundable, currency)}: "
            f"{_plain(paid, currency)} paid, {_plain(refunded, currency)} already refunded"
        )
        minor = refundable
    return Money(minor, currency), computed, tuple(notes)


def _plain(minor: int, currency: str) -> str:
    """'27.00 CNY' - like str(Money) without Decimal arithmetic (this runs per decision)."""
    exp = exponent(currency)
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    if not exp:
        return f"{sign}{minor} {currency}"
    whole, part = divmod(minor, 10**exp)
    return f"{sign}{whole}.{part:0{exp}d} {currency}"

"""CEL for policies: the environments conditions and amounts are type-checked and run in, and the
few text-level helpers around CEL source (string literals, the facts an expression reads, the
`days()`/`hours()` rewrite, CEL's error messages turned into Problems with YAML lines).

Three environments, made once per process (the declarations never change):

* "condition": every fact of contract v1 (typed from facts.py), `days(int)` and `hours(int)`:
  type-checks conditions;
* "amount": the facts plus `prorate`, `prorate_unused`, `percent` (declared for type checking
  only: amounts.py computes them): type-checks amount expressions;
* "run": the facts only: runs conditions, with `days(n)`/`hours(n)` rewritten into native CEL.

Nothing at run time calls back into Python: cel-expr-python 0.1.3 keeps about 50 bytes for every
call of a Python-implemented function, which a long-running server cannot afford.

Pure: no Django.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_math

from refunddesk.core.money import ROUNDING_DESCRIPTION
from refunddesk.policies.errors import Problem
from refunddesk.policies.facts import CONTRACT_VERSION, FACTS

__all__ = [
    "AMOUNT_ONLY",
    "FUNCTIONS_DOC",
    "T",
    "cel_problems",
    "code_only",
    "facts_read",
    "make_env",
    "native_durations",
    "run_env",
    "unknown_choices",
]

T = cel.Type
_NUMS = (T.INT, T.DOUBLE)

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
    """The CEL type a fact of this kind has in expressions (facts.py: money is an int of minor units)."""
    return {
        "string": T.STRING,
        "bool": T.BOOL,
        "int": T.INT,
        "double": T.DOUBLE,
        "timestamp": T.TIMESTAMP,
        "money": T.INT,
        "decimal": T.DOUBLE,
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


def make_env(kind: str) -> Any:
    """The CEL environment `kind` ("condition", "amount" or "run"; see the module docstring), made
    once per process. Amount expressions are only type-checked here: amounts.py runs them exactly."""
    env = _ENVS.get(kind)
    if env is None:
        functions = []
        if kind in ("condition", "amount"):
            functions += [
                _declare("days", T.DURATION, [], 1, (T.INT,)),
                _declare("hours", T.DURATION, [], 1, (T.INT,)),
            ]
        if kind == "amount":
            functions += [
                _declare("prorate", T.INT, [T.INT], 2),
                _declare("prorate_unused", T.INT, [T.INT], 2),
                _declare("percent", T.INT, [T.INT], 1),
            ]
        env = cel.NewEnv(
            variables={name: _cel_type(spec.kind) for name, spec in FACTS.items()},
            functions=functions or None,
            extensions=[ext_math.ExtMath()],
        )
        _ENVS[kind] = env
    return env


def run_env() -> Any:
    """The environment conditions run in."""
    return make_env("run")


_DURATION_CALL = re.compile(r"(?<![\w.])(days|hours)\s*\(")
_SECONDS = {"days": 86400, "hours": 3600}


def native_durations(expr: str) -> str:
    """days(X) -> duration(string((X) * 86400) + "s"), hours(X) likewise: the same duration,
    computed by CEL itself. Parentheses inside string literals are not counted."""
    code = code_only(expr)
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
        code = code_only(expr)
    return expr


_CEL_ERROR = re.compile(r"<input>:(-?\d+):(-?\d+): ")


def string_spans(expr: str) -> list[tuple[int, int]]:
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


def code_only(expr: str) -> str:
    """The expression with string literals and comments blanked out (same length)."""
    chars = list(expr)
    for start, end in string_spans(expr):
        for k in range(start, end):
            if chars[k] != "\n":
                chars[k] = " "
    return "".join(chars)


_IDENT = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def facts_read(expr: str) -> set[str]:
    """The facts of contract v1 that a CEL expression names (string literals and comments skipped)."""
    found = set()
    for match in _IDENT.finditer(code_only(expr)):
        parts = match.group(0).split(".")
        for k in range(len(parts), 0, -1):
            name = ".".join(parts[:k])
            if name in FACTS:
                found.add(name)
                break
    return found


_LITERAL = r"""(?:'([^'\\]*)'|"([^"\\]*)")"""


def unknown_choices(expr: str) -> list[str]:
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


def cel_problems(
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



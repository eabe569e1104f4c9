"""Amounts: the exact programs that compute an approve clause's refund, and the two rules the
engine applies to every refund after them.

CEL has no decimal type and its integers divide as integers, so an amount expression is only
type-checked by CEL (cel_env.py: it must be an int, the refund in MINOR units of order.currency);
this module then compiles it into a Python function of the facts that computes it exactly, in
Decimal arithmetic with 60 digits. The grammar is small on purpose: money and number facts,
numbers, `+`, `-`, `*`, parentheses, `math.least`, `math.greatest`, `int()`, `double()` and

    prorate(amount, part, whole)          amount * part / whole         (part, whole: int or double)
    prorate_unused(amount, used, period)  amount * max(period - used, 0) / period
    percent(amount, pct)                  amount * pct / 100           (pct: int or double)

which compute exactly and round ONCE, half-up to the currency's minor unit
(money.ROUNDING_DESCRIPTION). `/` and `%` are refused when the document is loaded (CEL would
truncate). Doubles are taken as the decimal they print as (a decimal fact such as
usage.days_used exactly as given), so prorate_unused(order.amount, usage.days_used,
plan.period_days) for 3 days of a 30-day 30.00 CNY plan is exactly 27.00 CNY.

After the expression, `settle` applies the engine's two rules and says so in the trace: a
negative amount becomes 0, and the amount is capped at what is still refundable on the order,
`order.amount - order.refunded`.

Pure: no Django.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from decimal import Context, Decimal, localcontext
from typing import Any

from refunddesk.core.money import ROUNDING, Money
from refunddesk.policies.computation import dotted
from refunddesk.policies.facts import FACTS, EvaluationError, Facts
from refunddesk.policies.money_text import plain

__all__ = ["AMOUNT_GRAMMAR", "NotAmount", "amount_program", "percent", "prorate", "prorate_unused", "settle"]


def _dec(value: int | float | Decimal) -> Decimal:
    """A number as a Decimal; a float as the short decimal it prints as (0.1 + 0.2 -> 0.3)."""
    if isinstance(value, int | Decimal):
        return Decimal(value)
    return Decimal(repr(value)).quantize(Decimal("1e-9"))


def _round_minor(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUNDING))


def prorate(amount: int, part: int | float | Decimal, whole: int | float | Decimal) -> int:
    """amount x part / whole in minor units, exact, rounded once half-up. Raises ValueError when whole <= 0."""
    with localcontext() as ctx:
        ctx.prec = 60
        den = _dec(whole)
        if den <= 0:
            raise ValueError(f"prorate: the whole must be more than 0, got {den}")
        return _round_minor(Decimal(amount) * _dec(part) / den)


def prorate_unused(amount: int, used: int | float | Decimal, period: int | float | Decimal) -> int:
    """amount x max(period - used, 0) / period in minor units, exact, rounded once half-up (more used
    than the period: 0). Raises ValueError when period <= 0."""
    with localcontext() as ctx:
        ctx.prec = 60
        den = _dec(period)
        if den <= 0:
            raise ValueError(f"prorate_unused: the period must be more than 0, got {den}")
        unused = max(den - _dec(used), Decimal(0))
        return _round_minor(Decimal(amount) * unused / den)


def percent(amount: int, pct: int | float | Decimal) -> int:
    """amount x pct / 100 in minor units, exact, rounded once half-up."""
    with localcontext() as ctx:
        ctx.prec = 60
        return _round_minor(Decimal(amount) * _dec(pct) / 100)


class NotAmount(Exception):
    """The expression uses something outside the amount grammar (the message says what)."""


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
    "prorate": (3, prorate),
    "prorate_unused": (3, prorate_unused),
    "percent": (2, percent),
    "math.least": (None, _least),
    "math.greatest": (None, _greatest),
    "int": (1, _to_int),
    "double": (1, _to_dec),
}
AMOUNT_GRAMMAR = (
    "an amount may use money and number facts, numbers, + - *, parentheses, "
    "prorate(), prorate_unused(), percent(), math.least(), math.greatest(), int() and double()"
)


def _amount_node(node: ast.AST) -> Callable[[Facts], Any]:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        value = node.value if isinstance(node.value, int) else Decimal(repr(node.value))
        return lambda facts: value
    name = dotted(node)
    if name is not None:
        spec = FACTS.get(name)
        if spec is None or spec.kind not in ("money", "int", "double", "decimal"):
            raise NotAmount(f"'{name}' cannot be used in an amount")
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
        fname = dotted(node.func)
        if fname in _AMOUNT_FUNCTIONS:
            arity, fn = _AMOUNT_FUNCTIONS[fname]
            if arity is not None and len(node.args) != arity:
                raise NotAmount(f"{fname}() takes {arity} arguments")
            args = [_amount_node(a) for a in node.args]
            return lambda facts: fn(*[a(facts) for a in args])
        raise NotAmount(f"{fname or 'this call'}() cannot be used in an amount")
    raise NotAmount(f"'{ast.unparse(node)}' cannot be used in an amount")


def amount_program(expr: str) -> Callable[[Facts], int]:
    """Compile a (CEL type-checked) amount expression into a Python function of the facts
    that computes it exactly: ints stay ints, doubles become Decimals of their short form."""
    try:
        tree = ast.parse(" ".join(expr.split()), mode="eval")
    except SyntaxError:
        raise NotAmount("this expression") from None
    body = _amount_node(tree.body)

    def run(facts: Facts) -> int:
        with localcontext(_AMOUNT_CTX):
            return body(facts)

    return run




def settle(
    program: Callable[[Facts], int], facts: Facts, *, clause: str, expression: str
) -> tuple[Money, Money, tuple[str, ...]]:
    """Run an approve rule's amount `program` on converted `facts` and apply the engine's two rules.

    Returns (refund, computed, notes): `computed` is what the expression gave, `refund` that figure
    made 0 when negative and capped at what is still refundable (order.amount - order.refunded),
    both Money in order.currency; `notes` say for the trace what happened ("amount EXPR = 27.00
    CNY", "capped from 27.00 CNY to 25.00 CNY: ..."). `clause` (the rule's id) and `expression`
    (its amount source) are for the messages. Raises EvaluationError naming the clause when the
    expression cannot be computed (e.g. prorate over a period of 0).
    """
    try:
        got = program(facts)
    except (ValueError, ArithmeticError) as exc:
        raise EvaluationError(f"clause '{clause}': the amount could not be evaluated: {exc}", clause=clause) from None
    if type(got) is not int:  # pragma: no cover - CEL checked that the amount is an int
        raise EvaluationError(f"clause '{clause}': the amount is not an int of minor units", clause=clause)
    currency = facts.currency
    computed = Money(got, currency)
    notes = [f"amount {expression} = {plain(got, currency)}"]
    minor = got
    if minor < 0:
        notes.append(f"computed {plain(got, currency)}; a refund cannot be negative: {plain(0, currency)}")
        minor = 0
    paid = facts.raw("order.amount")
    refunded = facts.raw("order.refunded")
    refundable = max(paid - refunded, 0)
    if minor > refundable:
        notes.append(
            f"capped from {plain(minor, currency)} to {plain(refundable, currency)}: "
            f"{plain(paid, currency)} paid, {plain(refunded, currency)} already refunded"
        )
        minor = refundable
    return Money(minor, currency), computed, tuple(notes)

"""The syntax tree of a compiled CEL expression, exactly as CEL parsed and checked it, and what the
engine reads from it: the comparisons of a fact with a number (`comparisons`).

cel-expr-python gives no syntax tree, but `Expression.serialize()` returns the checked expression
as the CEL specification's own protobuf message: a `google.protobuf.Any` holding a
`cel.expr.CheckedExpr` (cel-spec, proto/cel/expr/checked.proto and syntax.proto). This module
reads the few fields it needs from those bytes; the wire format is decoded here by hand (about 30
lines) because the project does not depend on protobuf. After checking, a fact such as
`outage.longest_hours` is one `Ident` with its full dotted name, and operators are calls of their
CEL function names:

    72.0 <= outage.longest_hours && !outage.force_majeure
    Call("_&&_", (Call("_<=_", (Literal(72.0), Ident("outage.longest_hours"))),
                  Call("!_", (Ident("outage.force_majeure"),))))

Pure: no Django.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Call", "Ident", "ListOf", "Literal", "Node", "Other", "Select", "comparisons", "syntax_tree"]


@dataclass(frozen=True, slots=True)
class Ident:
    """A name: after checking, a fact with its full dotted name ("outage.longest_hours")."""

    name: str


@dataclass(frozen=True, slots=True)
class Select:
    """`operand.field` that is not a declared name (a field of a value)."""

    operand: Node
    field: str


@dataclass(frozen=True, slots=True)
class Call:
    """A function or operator call: "_>=_", "_&&_", "_||_", "!_", "-_", "@in", "_?_:_", "double", ..."""

    function: str
    args: tuple[Node, ...]
    target: Node | None = None  # the receiver of a method call (x.f(...))


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: None, bool, int, float, str or bytes."""

    value: Any


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list literal: [a, b, ...]."""

    elements: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Other:
    """Anything the engine does not read (maps, messages, comprehensions such as all() / exists())."""


Node = Ident | Select | Call | Literal | ListOf | Other


# --- the protobuf wire format (https://protobuf.dev/programming-guides/encoding/) ----------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(buf: bytes) -> Iterator[tuple[int, Any]]:
    """(field number, value) of one message: an int for varints, bytes for length-delimited fields
    and for the 8- and 4-byte fixed ones."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i : i + size], i + size
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:  # pragma: no cover - groups (3, 4) are not used by cel.expr
            raise ValueError(f"unexpected protobuf wire type {wire}")
        yield number, value


def _first(buf: bytes, number: int) -> Any:
    return next((value for n, value in _fields(buf) if n == number), None)


# cel.expr field numbers: Any.value 2; CheckedExpr.expr 4; Expr: const_expr 3, ident_expr 4, select_expr 5,
# call_expr 6, list_expr 7; Ident.name 1; Select.operand 1, field 2; Call.target 1, function 2, args 3;
# CreateList.elements 1; Constant: null 1, bool 2, int64 3, uint64 4, double 5, string 6, bytes 7.


def _constant(buf: bytes) -> Any:
    for number, value in _fields(buf):
        if number == 1:
            return None
        if number == 2:
            return bool(value)
        if number == 3:
            return value - (1 << 64) if value >= 1 << 63 else value  # int64: two's complement
        if number == 4:
            return value
        if number == 5:
            return struct.unpack("<d", value)[0]
        if number == 6:
            return value.decode("utf-8")
        if number == 7:
            return bytes(value)
    return Other()  # pragma: no cover - durations and timestamps are not written as constants


def _expr(buf: bytes) -> Node:
    for number, value in _fields(buf):
        if number == 3:
            return Literal(_constant(value))
        if number == 4:
            return Ident(_first(value, 1).decode("utf-8"))
        if number == 5:
            return Select(_expr(_first(value, 1) or b""), (_first(value, 2) or b"").decode("utf-8"))
        if number == 6:
            target = function = None
            args: list[Node] = []
            for n, part in _fields(value):
                if n == 1:
                    target = _expr(part)
                elif n == 2:
                    function = part.decode("utf-8")
                elif n == 3:
                    args.append(_expr(part))
            return Call(function or "", tuple(args), target)
        if number == 7:
            return ListOf(tuple(_expr(part) for n, part in _fields(value) if n == 1))
    return Other()


def syntax_tree(expression: Any) -> Node:
    """The tree of a compiled (checked) cel-expr-python `Expression`."""
    checked = _first(expression.serialize(), 2)
    return _expr(_first(checked, 4))


# --- what the engine reads -------------------------------------------------------------------------

_RELATIONS = {"_>=_": ">=", "_>_": ">", "_<=_": "<=", "_<_": "<", "_==_": "==", "_!=_": "!="}
_MIRRORED = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "!=": "!="}  # N op x  ->  x op' N
_NEGATED = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}  # !(x op N)  ->  x op' N


def _number(node: Node) -> int | float | None:
    """A numeric constant, also written -72.0, double(72) or int(72.0); None for anything else."""
    if isinstance(node, Literal):
        value = node.value
        return value if type(value) in (int, float) else None
    if isinstance(node, Call) and node.target is None and len(node.args) == 1:
        inner = _number(node.args[0])
        if inner is None:
            return None
        if node.function == "-_":
            return -inner
        if node.function == "double":
            return float(inner)
        if node.function == "int":
            return int(inner)
    return None


def comparisons(tree: Node, fact: str) -> list[tuple[str, int | float]]:
    """Every comparison of `fact` with a number in the expression, as (operator, number) with the
    fact on the left and the negations around it applied: `72.0 <= f` and `!(f < 72.0)` both give
    (">=", 72.0). Operators: >=, >, <=, <, ==, !=. Comparisons with anything but a constant number
    (another fact, an expression) are not included. In source order."""
    found: list[tuple[str, int | float]] = []

    def walk(node: Node, negated: bool) -> None:
        if isinstance(node, Call):
            if node.function == "!_" and len(node.args) == 1:
                walk(node.args[0], not negated)
                return
            op = _RELATIONS.get(node.function)
            if op is not None and len(node.args) == 2:
                left, right = node.args
                number = None
                if left == Ident(fact):
                    number = _number(right)
                elif right == Ident(fact):
                    number, op = _number(left), _MIRRORED[op]
                if number is not None:
                    found.append((_NEGATED[op] if negated else op, number))
                    return
            if node.function == "_?_:_" and len(node.args) == 3:  # the test's own truth is not the result's
                walk(node.args[0], False)
                walk(node.args[1], negated)
                walk(node.args[2], negated)
                return
            if node.target is not None:
                walk(node.target, negated)
            for arg in node.args:
                walk(arg, negated)
        elif isinstance(node, Select):
            walk(node.operand, negated)
        elif isinstance(node, ListOf):
            for element in node.elements:
                walk(element, negated)

    walk(tree, False)
    return found

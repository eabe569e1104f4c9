"""The fast fact converter: what turns one request's JSON-style facts into CEL values, generated
per policy as straight-line Python.

Why generated: this runs for every decision (bench/policy_eval.py counts it), and a converter
written as ordinary code (a loop over the facts with a branch per kind) measured about 30%
slower here, 1.3 to 1.5 us more per decision, about 7% of a whole decision. So `Converter`
writes, once per policy, one function with a few lines per fact the policy reads (no loop, no
dispatch), compiles it and keeps it. The code is made only from the contract (facts.FACTS: the
names, kinds and ranges), never from the input.

What it must do is defined by `facts.reference_convert`, the slow, obviously correct converter:
tests/policies/test_fast_facts.py checks with hypothesis that both give the same Facts, or the same
FactError, for valid and invalid fact sets alike. Each line generated here is an inline fast path
for the usual JSON value of a kind (a bool, a plain str in the vocabulary, an in-range int or
float, an RFC 3339 string with "T" and an offset, a digit string for money); any other value goes
to the kind's converter in facts.py, which converts what it can and otherwise raises the FactError
naming the fact. `Converter(...).source` is the generated code, for reading.

Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from refunddesk.core.money import exponent
from refunddesk.policies.facts import (
    CONVERTERS,
    FACTS,
    MISSING,
    Facts,
    known_currencies,
    lookup_nested,
    missing_facts_error,
    reading_order,
)

__all__ = ["Converter"]


def _fast_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 str with "T" and a UTC offset -> aware datetime; None sends anything else to facts.py."""
    if value.__class__ is str and len(value) >= 20 and value[10] == "T":
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return None
        if stamp.tzinfo is not None:
            return stamp
    return None


def _fast_decimal(value: Any, minimum: float | None) -> Decimal | None:
    """A decimal str at least `minimum` -> Decimal; None sends anything else to facts.py."""
    if value.__class__ is str:
        try:
            number = Decimal(value)
        except ArithmeticError:
            return None
        if number.is_finite() and (minimum is None or number >= minimum):
            return number
    return None


def _fast_minor(value: Any, exp: int) -> int | None:
    """ "30.00" -> 3000 (exp 2) for plain digit strings; None sends anything else to facts.py (Money)."""
    if value.__class__ is str:
        whole, dot, frac = value.partition(".")
        if (
            whole.isdigit()
            and whole.isascii()
            and len(frac) <= exp
            and (not dot or (frac.isdigit() and frac.isascii()))
        ):
            return int(whole) * 10**exp + (int(frac) * 10 ** (exp - len(frac)) if frac else 0)
    return None


def _raise_missing(missing: list[str]) -> None:
    raise missing_facts_error(missing)


class Converter:
    """Converts the facts one policy reads; built once per policy, called once per decision.

    `Converter(names, for_cel)(raw)` is `facts.reference_convert(raw, names, for_cel)`, faster: the
    same Facts, or the same FactError. `names`: the facts to read (money facts bring
    order.currency); `for_cel`: those to hand to CEL (default: all; the others go to `Facts.more`).
    Raises KeyError for a name that is not a fact of the contract.
    """

    __slots__ = ("names", "_fn", "source", "_for_cel")

    def __init__(self, names: Iterable[str], for_cel: Iterable[str] | None = None):
        wanted = list(dict.fromkeys(names))
        self._for_cel = frozenset(wanted if for_cel is None else for_cel)
        self.names = reading_order(wanted)
        self.source = self._generate()
        namespace: dict[str, Any] = {
            "_M": MISSING,
            "_dict": dict,
            "_str": str,
            "_int": int,
            "_float": float,
            "_Mapping": Mapping,
            "_FACTS": FACTS,
            "_CONVERTERS": CONVERTERS,
            "_CURRENCY": CONVERTERS["currency"],
            "_fast_timestamp": _fast_timestamp,
            "_fast_minor": _fast_minor,
            "_fast_decimal": _fast_decimal,
            "_exponent": exponent,
            "_missing": _raise_missing,
            "_nested": lookup_nested,
            "_CHOICES": {name: frozenset(spec.choices) for name, spec in FACTS.items() if spec.choices},
            "_CURRENCIES": known_currencies,
            "Facts": Facts,
        }
        exec(compile(self.source, "<facts converter>", "exec"), namespace)  # noqa: S102 - generated from FACTS
        self._fn = namespace["convert"]

    def __call__(self, raw: Mapping[str, Any]) -> Facts:
        """Convert one fact set (JSON-style, nested or dotted names). Raises FactError."""
        return self._fn(raw)

    def _generate(self) -> str:
        """The converter's source: `def convert(raw): ...`, a few lines per fact in `self.names`."""
        lines = [
            "def convert(raw):",
            "    get = raw.get",
            "    cel = {}",
            "    extra = {}",
            "    more = {}",
            "    missing = []",
            "    currency = None",
        ]
        heads = sorted({name.split(".")[0] for name in self.names if name.count(".") == 1})
        for head in heads:
            lines += [
                f"    _s_{head} = get({head!r})",
                f"    if _s_{head}.__class__ is not _dict:",
                f"        _s_{head} = dict(_s_{head}) if isinstance(_s_{head}, _Mapping) else {{}}",
            ]
        for name in self.names:
            spec = FACTS[name]
            parts = name.split(".")
            key = repr(name)
            first = len(lines)
            if len(parts) == 2:  # nested first (the usual JSON), then flat
                lines.append(f"    v = _s_{parts[0]}.get({parts[1]!r}, _M)")
                lines.append(f"    if v is _M: v = get({key}, _M)")
            else:
                if len(parts) > 2:
                    lines.append(f"    v = _nested(raw, {tuple(parts)!r})")
                    lines.append(f"    if v is _M: v = get({key}, _M)")
                else:
                    lines.append(f"    v = get({key}, _M)")
            lines += [
                "    if v is _M:",
                f"        missing.append({key})",
            ]
            slow = f"cel[{key}] = _CONVERTERS[{spec.kind!r}](_FACTS[{key}], v, currency)[0]"
            lo = f" and v >= {spec.minimum!r}" if spec.minimum is not None else ""
            hi = f" and v <= {spec.maximum!r}" if spec.maximum is not None else ""
            if name == "order.currency":
                lines += [
                    "    else:",
                    "        if v.__class__ is not _str or v not in _CURRENCIES:",
                    f"            _CURRENCY(_FACTS[{key}], v, None)",
                    f"        cel[{key}] = currency = v",
                    "        exp = _exponent(v)",
                ]
            elif spec.kind == "bool":
                lines += [f"    elif v is True or v is False: cel[{key}] = v", f"    else: {slow}"]
            elif spec.kind == "string":
                allowed = f" and v in _CHOICES[{key}]" if spec.choices else ""
                lines += [f"    elif v.__class__ is _str{allowed}: cel[{key}] = v", f"    else: {slow}"]
            elif spec.kind == "int":
                lines += [f"    elif v.__class__ is _int{lo}{hi}: cel[{key}] = v", f"    else: {slow}"]
            elif spec.kind == "double":
                finite = "" if (lo and hi) else " and -1e308 < v < 1e308"
                lines += [
                    f"    elif v.__class__ is _float{lo}{hi}{finite}: cel[{key}] = v",
                    f"    elif v.__class__ is _int{lo}{hi}{finite}: cel[{key}] = _float(v)",
                    f"    else: {slow}",
                ]
            elif spec.kind == "timestamp":
                lines += [
                    "    else:",
                    "        t = _fast_timestamp(v)",
                    f"        if t is None: {slow}",
                    f"        else: cel[{key}] = t",
                ]
            elif spec.kind == "money":
                lines += [
                    "    else:",
                    "        m = _fast_minor(v, exp) if currency is not None else None",
                    f"        if m is None: {slow}",
                    f"        else: cel[{key}] = m",
                ]
            else:  # decimal: the exact value is kept too
                lines += [
                    "    else:",
                    f"        d = _fast_decimal(v, {spec.minimum!r})",
                    f"        if d is None: cel[{key}], extra[{key}] = _CONVERTERS[{spec.kind!r}](_FACTS[{key}], v, currency)",
                    f"        else: cel[{key}], extra[{key}] = _float(d), d",
                ]
            if name not in self._for_cel:  # CEL does not need it: keep it aside
                lines[first:] = [line.replace(f"cel[{key}]", f"more[{key}]") for line in lines[first:]]
        lines += ["    if missing: _missing(missing)", "    return Facts(cel, extra, more)"]
        return "\n".join(lines) + "\n"


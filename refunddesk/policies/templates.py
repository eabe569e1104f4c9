"""Explanation templates: what the customer is told, with facts and figures filled in per decision.

An explanation (one per language) may quote placeholders:

* any fact of contract v1, shown the way people read it (facts.fact_formatter): `{plan.refund_window_days}`,
  `{outage.longest_hours}` ("80.1"), `{order.purchased_at}` ("March 5, 2025" / "2025年3月5日"),
  `{order.sales_channel}` ("the Apple App Store" / "苹果 App Store") ...;
* `{refund}`: the formatted refund (approve only; money_text.py);
* `{computation}`: the amount expression with this decision's figures (approve only; computation.py),
  e.g. "CN¥30.00 paid − CN¥10.00 already refunded − CN¥0.18 payment channel fee";
* `{review_business_days}`, `{refund_business_days}`: the policy's own, filled in once when loading.

`{{` and `}}` are literal braces. An unknown placeholder or a lone brace is an error of the document
(parse_template returns it, schema.py reports it with the line).

A template is parsed once when the document is loaded into `pieces`: literal text, with the
constants already filled in, and one small formatter per placeholder, so rendering a decision is
a join. Pure: no Django.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from refunddesk.core.i18n import is_zh
from refunddesk.policies.facts import FACTS, Facts, fact_formatter
from refunddesk.policies.money_text import format_minor_pair

__all__ = ["APPROVE_ONLY", "EXTRA_PLACEHOLDERS", "Template", "parse_template"]

EXTRA_PLACEHOLDERS = ("refund", "computation", "review_business_days", "refund_business_days")
APPROVE_ONLY = ("refund", "computation")  # placeholders only an approve outcome can quote


@dataclass(frozen=True, slots=True)
class Template:
    """An explanation in one language with its placeholders parsed: `parts` are literal str
    or (name,) tuples; `pieces` the same with each placeholder as a ready formatter."""

    parts: tuple[str | tuple[str], ...]
    lang: str = "en"
    constants: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)
    pieces: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        zh = is_zh(self.lang)
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
                show = fact_formatter(part[0], self.lang)
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
        """The placeholders the text quotes, in order."""
        return tuple(p[0] for p in self.parts if isinstance(p, tuple))


def _refund_texts(extras: dict[str, Any]) -> tuple[str, str]:
    """{refund} in (en, zh), formatted once per decision for both languages."""
    texts = extras.get("_refund")
    if texts is None:
        refund = extras["refund"]
        texts = extras["_refund"] = format_minor_pair(refund.minor, refund.currency)
    return texts


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def parse_template(
    text: str, lang: str = "en", constants: tuple[tuple[str, str], ...] = ()
) -> tuple[Template | None, list[str]]:
    """Parse an explanation in `lang`; `constants` are placeholders with one value per policy (the
    business days). Returns (the Template, []) or (None, the errors: unknown placeholders, lone braces)."""
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
    return (Template(tuple(parts), lang, constants) if not errors else None), errors



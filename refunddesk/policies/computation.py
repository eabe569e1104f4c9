"""How a refund was computed, in words and with the real figures: the `{computation}` placeholder.

An approve clause's explanation may quote `{computation}`: the clause's own amount expression,
shown with the figures of this decision, in the customer's language. It is derived from the
very expression the engine evaluated, so the explanation cannot say one computation while the
engine made another::

    amount: order.amount - order.refunded - order.channel_fee
    en:  CN¥30.00 paid − CN¥10.00 already refunded − CN¥0.18 payment channel fee
    zh:  支付金额 ¥30.00 − 已退款 ¥10.00 − 支付通道手续费 ¥0.18

    amount: prorate_unused(order.amount - order.refunded, usage.days_used, plan.period_days)
    en:  (CN¥30.00 paid − CN¥5.00 already refunded) × (30 days in the period − 3 days used) ÷ 30 days in the period

Rules:

* money facts are formatted like `{refund}`; every fact carries its term (facts.TERMS): after
  the figure in English, before it in Chinese;
* a fact that is 0 in a sum is left out ("whatever applied": nothing refunded yet, no fee);
  a sum that is left with one term shows just that term ("CN¥30.00 paid");
* a bare number next to money is money in minor units (`order.amount - 100` shows CN¥1.00);
* the result itself is not repeated (the explanation quotes `{refund}` for that), except when
  the engine changed it: a negative result ("= -CN¥0.08; a refund cannot be negative") or one
  above what is still refundable ("= CN¥29.82, limited to the CN¥20.00 still refundable
  (CN¥30.00 paid − CN¥10.00 already refunded)").

When an approve explanation does not quote `{computation}` and the engine changed the figure,
the engine adds the computation as a sentence of its own, so the customer is never told an
amount that the clause's words do not account for (see evaluation.evaluate).

Everything is compiled once per clause into closures; rendering runs only for approve
decisions that show it. Pure: no Django.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from refunddesk.policies.facts import FACTS, TERMS, Facts, number_text
from refunddesk.policies.money_text import format_minor_pair

__all__ = ["MINUS", "Computation", "compile_computation", "dotted"]

MINUS, TIMES, DIVIDE = "\u2212", "\u00d7", "\u00f7"  # − × ÷

# How tightly a rendered part binds; a part is put in parentheses where it binds less than needed.
_PHRASE, _SUM, _PRODUCT, _ATOM = 0, 1, 2, 3

Shown = tuple[int, str, str]  # (binding, English text, Chinese text)
Render = Callable[[Facts], Shown]


def dotted(node: ast.AST) -> str | None:
    """`order.amount` as a name, or None when the node is not a (dotted) name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def _kind(node: ast.AST) -> str:
    """"money", "number" or "any" (a bare number: it takes the kind of what it is used with)."""
    if isinstance(node, ast.Constant):
        return "any"
    name = dotted(node)
    if name is not None:
        return "money" if FACTS[name].kind == "money" else "number"
    if isinstance(node, ast.BinOp):
        kinds = {_kind(node.left), _kind(node.right)}
    elif isinstance(node, ast.UnaryOp):
        kinds = {_kind(node.operand)}
    elif isinstance(node, ast.Call):
        fname = dotted(node.func)
        if fname in ("prorate", "prorate_unused", "percent"):
            return "money"
        kinds = {_kind(arg) for arg in node.args}
    else:  # pragma: no cover - the amount grammar admits nothing else
        return "number"
    if "money" in kinds:
        return "money"
    return "any" if kinds == {"any"} else "number"


def _wrap(binding: int, text: str, needed: int) -> str:
    return f"({text})" if binding < needed else text


def _wrap_zh(binding: int, text: str, needed: int) -> str:
    """`_wrap` for the Chinese text: full-width parentheses, as Chinese is written (core.i18n.zh_punctuation)."""
    return f"\uff08{text}\uff09" if binding < needed else text


def _fact(name: str) -> Render:
    spec = FACTS[name]
    en_term, zh_term = TERMS.get(name, (f"({spec.en})", spec.zh))  # no term: the fact's meaning
    if spec.kind == "money":

        def money(facts: Facts) -> Shown:
            en, zh = format_minor_pair(facts.raw(name), facts.currency)
            return _ATOM, f"{en} {en_term}", f"{zh_term} {zh}"

        return money

    def number(facts: Facts) -> Shown:
        figure = number_text(facts.value(name))
        return _ATOM, f"{figure} {en_term}", f"{zh_term} {figure}"

    return number


def _literal(value: int | float, kind: str) -> Render:
    if kind == "money" and isinstance(value, int):
        return lambda facts: (_ATOM, *format_minor_pair(value, facts.currency))
    text = number_text(Decimal(repr(value)) if isinstance(value, float) else value)
    shown = (_ATOM, text, text)
    return lambda facts: shown


def _sum(node: ast.BinOp, kind: str) -> Render:
    terms: list[tuple[str, Render, str | None]] = []  # (sign, part, the fact when the part is one)
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        terms.append(("+" if isinstance(node.op, ast.Add) else MINUS, _compile(node.right, kind), dotted(node.right)))
        node = node.left  # type: ignore[assignment]
    first = _compile(node, kind)
    terms.reverse()
    names = [dotted(node), *(fact for _, _, fact in terms)]
    if all(name is not None and FACTS[name].kind == "money" for name in names):
        return _money_sum(names, [sign for sign, _, _ in terms])  # type: ignore[arg-type]

    def render(facts: Facts) -> Shown:
        head = first(facts)
        en, zh = [_wrap(head[0], head[1], _SUM)], [_wrap(head[0], head[2], _SUM)]
        for sign, part, fact in terms:
            if fact is not None and facts.raw(fact) == 0:
                continue  # nothing of it applied (no fee, nothing refunded yet): not shown
            binding, part_en, part_zh = part(facts)
            en.append(f"{sign} {_wrap(binding, part_en, _PRODUCT)}")
            zh.append(f"{sign} {_wrap_zh(binding, part_zh, _PRODUCT)}")
        return (_SUM, " ".join(en), " ".join(zh)) if len(en) > 1 else head

    return render


def _money_sum(names: list[str], signs: list[str]) -> Render:
    """_sum for the usual shape, money facts added and subtracted (order.amount - order.refunded -
    order.channel_fee): the same text, built with fewer objects (this runs for most approvals)."""
    def terms(name: str) -> tuple[str, str]:
        return TERMS.get(name, (f"({FACTS[name].en})", FACTS[name].zh))

    head = names[0]
    head_en, head_zh = terms(head)
    rest = [(sign, name, *terms(name)) for sign, name in zip(signs, names[1:], strict=True)]

    def render(facts: Facts) -> Shown:
        currency = facts.currency
        en, zh = format_minor_pair(facts.raw(head), currency)
        en, zh = f"{en} {head_en}", f"{head_zh} {zh}"
        shown = False
        for sign, name, term_en, term_zh in rest:
            minor = facts.raw(name)
            if minor:  # a term that is 0 did not apply: not shown
                figure_en, figure_zh = format_minor_pair(minor, currency)
                en = f"{en} {sign} {figure_en} {term_en}"
                zh = f"{zh} {sign} {term_zh} {figure_zh}"
                shown = True
        return (_SUM if shown else _ATOM), en, zh

    return render


def _call(node: ast.Call, kind: str) -> Render:
    fname = dotted(node.func)
    if fname in ("int", "double"):
        return _compile(node.args[0], kind)
    if fname == "percent":
        amount, pct = _compile(node.args[0], "money"), _compile(node.args[1], "number")

        def percent(facts: Facts) -> Shown:
            (a, a_en, a_zh), (b, b_en, b_zh) = amount(facts), pct(facts)
            return (
                _PRODUCT,
                f"{_wrap(a, a_en, _PRODUCT)} {TIMES} {_wrap(b, b_en, _ATOM)}%",
                f"{_wrap_zh(a, a_zh, _PRODUCT)} {TIMES} {_wrap_zh(b, b_zh, _ATOM)}%",
            )

        return percent
    if fname == "prorate":
        amount, part, whole = _compile(node.args[0], "money"), *(_compile(a, "number") for a in node.args[1:])

        def prorate(facts: Facts) -> Shown:
            (a, a_en, a_zh), (p, p_en, p_zh), (w, w_en, w_zh) = amount(facts), part(facts), whole(facts)
            return (
                _PRODUCT,
                f"{_wrap(a, a_en, _PRODUCT)} {TIMES} {_wrap(p, p_en, _PRODUCT)} {DIVIDE} {_wrap(w, w_en, _ATOM)}",
                f"{_wrap_zh(a, a_zh, _PRODUCT)} {TIMES} {_wrap_zh(p, p_zh, _PRODUCT)} {DIVIDE} {_wrap_zh(w, w_zh, _ATOM)}",
            )

        return prorate
    if fname == "prorate_unused":
        amount, used, period = _compile(node.args[0], "money"), *(_compile(a, "number") for a in node.args[1:])
        over = _used_up(node.args[1], node.args[2])

        def unused(facts: Facts) -> Shown:
            (a, a_en, a_zh), (u, u_en, u_zh), (p, p_en, p_zh) = amount(facts), used(facts), period(facts)
            if over is not None and over(facts):  # more used than the period: the unused share is 0
                share_en, share_zh = f"0 ({u_en})", f"0\uff08{u_zh}\uff09"
            else:
                share_en = f"({p_en} {MINUS} {_wrap(u, u_en, _PRODUCT)})"
                share_zh = f"\uff08{p_zh} {MINUS} {_wrap_zh(u, u_zh, _PRODUCT)}\uff09"
            return (
                _PRODUCT,
                f"{_wrap(a, a_en, _PRODUCT)} {TIMES} {share_en} {DIVIDE} {_wrap(p, p_en, _ATOM)}",
                f"{_wrap_zh(a, a_zh, _PRODUCT)} {TIMES} {share_zh} {DIVIDE} {_wrap_zh(p, p_zh, _ATOM)}",
            )

        return unused
    # math.least / math.greatest
    parts = [_compile(arg, kind) for arg in node.args]
    least = fname == "math.least"
    if len(parts) == 2:
        word_en, word_zh = ("lesser", "较小者") if least else ("greater", "较大者")
    else:
        word_en, word_zh = ("least", "最小者") if least else ("greatest", "最大者")

    def choose(facts: Facts) -> Shown:
        shown = [p(facts) for p in parts]
        en = [_wrap(b, t, _PRODUCT) for b, t, _ in shown]
        zh = [_wrap_zh(b, t, _PRODUCT) for b, _, t in shown]
        return (
            _PHRASE,
            f"the {word_en} of " + ", ".join(en[:-1]) + f" and {en[-1]}",
            "、".join(zh[:-1]) + f" 与 {zh[-1]} 中的{word_zh}",
        )

    return choose


def _used_up(used: ast.AST, period: ast.AST) -> Callable[[Facts], bool] | None:
    """For prorate_unused(amount, used, period) whose used and period are plain facts or numbers:
    a test of 'more was used than the period' (the function then counts nothing as unused)."""
    values = []
    for node in (used, period):
        if isinstance(node, ast.Constant):
            values.append(lambda facts, v=node.value: v)
            continue
        name = dotted(node)
        if name is None:
            return None
        values.append(lambda facts, n=name: facts.raw(n))  # ints and floats: exact enough to compare
    first, second = values
    return lambda facts: first(facts) > second(facts)


def _compile(node: ast.AST, kind: str) -> Render:
    if isinstance(node, ast.Constant):
        return _literal(node.value, kind)
    name = dotted(node)
    if name is not None:
        return _fact(name)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        return _sum(node, kind if kind != "any" else _kind(node))
    if isinstance(node, ast.BinOp):  # ast.Mult: the amount grammar allows nothing else
        inner = _kind(node)
        left = _compile(node.left, "number" if inner == "money" and _kind(node.left) == "any" else inner)
        right = _compile(node.right, "number" if inner == "money" and _kind(node.right) == "any" else inner)

        def product(facts: Facts) -> Shown:
            (a, a_en, a_zh), (b, b_en, b_zh) = left(facts), right(facts)
            return (
                _PRODUCT,
                f"{_wrap(a, a_en, _PRODUCT)} {TIMES} {_wrap(b, b_en, _PRODUCT)}",
                f"{_wrap_zh(a, a_zh, _PRODUCT)} {TIMES} {_wrap_zh(b, b_zh, _PRODUCT)}",
            )

        return product
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand, kind)

        def negative(facts: Facts) -> Shown:
            b, en, zh = operand(facts)
            return _PRODUCT, f"{MINUS}{_wrap(b, en, _ATOM)}", f"{MINUS}{_wrap(b, zh, _ATOM)}"

        return negative
    if isinstance(node, ast.Call):
        return _call(node, kind)
    raise ValueError(f"'{ast.unparse(node)}' cannot be shown")  # pragma: no cover - checked before


class Computation:
    """A clause's amount expression, ready to be shown with one decision's figures."""

    __slots__ = ("_body",)

    def __init__(self, body: Render):
        self._body = body

    def __call__(self, facts: Facts, extras: dict[str, Any], zh: bool) -> str:
        """The computation for `{computation}` in one language. `extras` holds the decision's `refund`
        and `computed` Money (after and before the engine's two rules); both languages are rendered
        at the first call and kept in it for the second."""
        texts = extras.get("_computation")
        if texts is None:
            texts = extras["_computation"] = self.texts(facts, extras["refund"].minor, extras["computed"].minor)
        return texts[1] if zh else texts[0]

    def texts(self, facts: Facts, refund: int, computed: int) -> tuple[str, str]:
        """(en, zh): the expression with the figures, and what the engine did when it changed the figure."""
        _, en, zh = self._body(facts)
        if computed == refund:
            return en, zh
        currency = facts.currency
        got_en, got_zh = format_minor_pair(computed, currency)
        if computed < 0:
            return f"{en} = {got_en}; a refund cannot be negative", f"{zh} = {got_zh}；退款不能为负数"
        (left_en, left_zh), (paid_en, paid_zh), (refunded_en, refunded_zh) = (
            format_minor_pair(m, currency) for m in (refund, facts.raw("order.amount"), facts.raw("order.refunded"))
        )
        return (
            f"{en} = {got_en}, limited to the {left_en} still refundable "
            f"({paid_en} paid {MINUS} {refunded_en} already refunded)",
            f"{zh} = {got_zh}，以尚可退还的 {left_zh}（支付金额 {paid_zh} {MINUS} 已退款 {refunded_zh}）为限",
        )

    def sentences(self, facts: Facts, refund: int, computed: int) -> tuple[str, str]:
        """(en, zh): the computation as a sentence of its own, for an explanation that does not quote it."""
        en, zh = self.texts(facts, refund, computed)
        return f"How the refund was computed: {en}.", f"退款计算：{zh}。"


def compile_computation(expr: str) -> Computation:
    """Compile an amount expression (already accepted by the engine's amount grammar)."""
    tree = ast.parse(" ".join(expr.split()), mode="eval")
    return Computation(_compile(tree.body, "money"))

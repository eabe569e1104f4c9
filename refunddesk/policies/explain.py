"""A policy in plain words, in English or Chinese (zh-Hans): for staff clause by clause, for the public as a
document in sections.

`explain` (staff, `refunddesk policy explain`): each clause with its summary (the author's plain words; when
there is none, the condition is put into words mechanically: facts by their meaning, operators as words), the
exact CEL condition, the refund rule, and what the customer is told, with the facts the explanation quotes
shown as ‹their meaning›.

`public_sections`, `public_text`, `amount_in_words` (the public document, /policy/): the clauses grouped into
the seeds' sections (the document's `sections`, else by outcome), each said in the author's words (its summary,
else its explanation with every placeholder in words), what an approval refunds said in words; never a
condition, a clause id or a placeholder.

Pure: no Django.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from refunddesk.core.i18n import is_zh
from refunddesk.core.money import ROUNDING_DESCRIPTION
from refunddesk.policies.cel_env import FUNCTIONS_DOC
from refunddesk.policies.computation import dotted
from refunddesk.policies.facts import CHOICE_LABELS, FACTS, number_text
from refunddesk.policies.policy import TOPIC_OF_OUTCOME, TOPICS, Policy, Rule, Section
from refunddesk.policies.templates import Template

__all__ = ["amount_in_words", "explain", "expression_in_words", "public_sections", "public_text"]

_OUTCOME = {
    "approve": ("approve: refund", "批准：退款"),
    "reject": ("reject: no refund", "拒绝：不予退款"),
    "review": ("review: a person decides", "人工审核"),
    "redirect": ("redirect: the customer asks the store that sold it", "转交：由售出平台处理退款"),
}

_WORDS = {
    "&&": ("and", "并且"),
    "||": ("or", "或"),
    "!": ("not", "非"),
    "==": ("is", "为"),
    "!=": ("is not", "不为"),
    "<=": ("is at most", "不超过"),
    ">=": ("is at least", "不少于"),
    "<": ("is less than", "少于"),
    ">": ("is more than", "超过"),
    "in": ("is one of", "属于"),
    "true": ("true", "是"),
    "false": ("false", "否"),
    "days": ("days", "天数"),
    "hours": ("hours", "小时数"),
}

_EXTRA = {
    "refund": ("the refund", "退款金额"),
    "computation": ("how the refund was computed, with the figures", "退款的计算过程及实际金额"),
    "review_business_days": ("the review time in business days", "审核工作日数"),
    "refund_business_days": ("the refund time in business days", "退款工作日数"),
}

_TOKEN = re.compile(
    r"""(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
    r"|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<id>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!?:()\[\],])"
    r"|(?P<ws>\s+)"
)


def _t(pair: tuple[str, str], zh: bool) -> str:
    return pair[1] if zh else pair[0]


def expression_in_words(expr: str, lang: str) -> str:
    """A CEL expression with facts named by their meaning and operators as words."""
    zh = is_zh(lang)
    out: list[str] = []
    last_fact: str | None = None
    pos = 0
    for m in _TOKEN.finditer(expr):
        if m.start() != pos:  # something the tokenizer does not know: keep it as written
            out.append(expr[pos : m.start()])
        pos = m.end()
        kind = m.lastgroup
        text = m.group(0)
        if kind == "ws":
            continue
        if kind == "str":
            value = text[1:-1]
            labels = CHOICE_LABELS.get(last_fact or "", {})
            out.append(f"“{_t(labels[value], zh)}”" if value in labels else text)
        elif kind == "id":
            if text in FACTS:
                last_fact = text
                out.append(f"‹{FACTS[text].label(lang)}›")
            elif text in _WORDS:
                out.append(_t(_WORDS[text], zh))
            else:
                out.append(text)
        elif kind == "op" and text in _WORDS:
            out.append(_t(_WORDS[text], zh))
        else:
            out.append(text)
    if pos != len(expr):
        out.append(expr[pos:])
    text = " ".join(out)
    text = re.sub(r"\( ", "(", text)
    text = re.sub(r" ([),\]])", r"\1", text)
    text = re.sub(r"\[ ", "[", text)
    text = re.sub(r"(\w|›) \(", r"\1(", text)
    return text


def _filled(template: Template, say: Callable[[str], str]) -> str:
    """An explanation with its constants (the business days, the same for every decision) filled in and
    every other placeholder said by `say(name)`."""
    constants = dict(template.constants)
    return "".join(part if isinstance(part, str) else constants[part[0]] if part[0] in constants else say(part[0])
                   for part in template.parts)


def _template_in_words(template: Template, lang: str) -> str:
    zh = is_zh(lang)
    return _filled(template, lambda name: "‹" + (FACTS[name].label(lang) if name in FACTS
                                                 else _t(_EXTRA[name], zh)) + "›")


def _functions_used(expr: str) -> list[str]:
    return [name for name in FUNCTIONS_DOC if re.search(rf"\b{name}\s*\(", expr)]


def _rule_lines(rule: Rule, lang: str, condition: str | None) -> list[str]:
    zh = is_zh(lang)
    lines = []
    if rule.summary is not None:
        lines.append(("   情形：" if zh else "   When: ") + rule.summary.get(lang))
    elif condition is not None:
        lines.append(("   情形：" if zh else "   When: ") + expression_in_words(condition, lang))
    if condition is not None:
        lines.append(("   条件（CEL）：" if zh else "   Condition (CEL): ") + " ".join(condition.split()))
    if rule.outcome == "approve" and rule.amount is not None:
        amount = " ".join(rule.amount.split())
        lines.append(
            ("   退款金额：" if zh else "   Refund: ")
            + expression_in_words(amount, lang)
            + (f"  (CEL:{amount})" if zh else f"  (CEL: {amount})")
        )
        for name in _functions_used(amount):
            lines.append("     " + FUNCTIONS_DOC[name])
    if rule._templates is not None:
        template = rule._templates[1 if zh else 0]
        lines.append(
            ("   告知用户：" if zh else "   The customer is told: ") + _template_in_words(template, lang)
        )
    if rule.reapply:
        lines.append("   客户可立即再次申请（reapply）。" if zh else "   The customer may apply again at once (reapply).")
    if rule.note:
        lines.append(("   说明：" if zh else "   Note: ") + " ".join(rule.note.split()))
    return lines


def explain(policy: Policy, lang: str = "en") -> str:
    """The whole policy in plain words. `lang` is "en" or "zh-Hans"."""
    zh = is_zh(lang)
    lines = [
        f"{policy.title.get(lang)}（{policy.id}，第 {policy.version} 版）"
        if zh
        else f"{policy.title.get(lang)} ({policy.id}, version {policy.version})",
        "",
    ]
    if zh:
        lines += [
            "各条款按顺序检查，第一条适用的条款作出决定；均不适用时按“其他情况”处理。",
            f"第一条 {policy.store_rule.id} 是商店购买规则：通过苹果 App Store 或 Google Play 购买的订单一律转交该平台"
            "处理退款，不论其他条款如何。",
            "退款金额精确计算，只在最后按币种最小单位四舍五入一次（0.005 元进为 0.01 元；日元取整）。",
            "退款不会超过订单尚可退还的金额（支付金额减去已退款金额），也不会为负数；"
            "如因此改变了金额，告知用户的说明会写明计算过程。",
            f"人工审核在 {policy.review_business_days} 个工作日内答复；批准的退款在 "
            f"{policy.refund_business_days} 个工作日内退回。",
        ]
    else:
        lines += [
            "Clauses are checked in order; the first that applies decides. If none applies, "
            "the last rule (otherwise) decides.",
            f"The first, {policy.store_rule.id}, is the rule for store purchases: an order bought through the "
            "App Store or Google Play goes to that store for its refund, whatever else applies.",
            f"Refund amounts are exact and rounded once, {ROUNDING_DESCRIPTION}.",
            "No refund is more than what is still refundable on the order (the amount paid less "
            "what was already refunded), and none is negative; when either rule changes the figure, "
            "the customer's explanation shows the computation.",
            f"Reviews are answered within {policy.review_business_days} business days; approved "
            f"refunds are sent within {policy.refund_business_days} business days.",
        ]
    for number, clause in enumerate(policy.clauses, start=1):
        lines += ["", f"{number}. {clause.id} → {_t(_OUTCOME[clause.outcome], zh)}"]
        lines += _rule_lines(clause, lang, clause.condition)
    lines += [
        "",
        ("其他情况（以上条款均不适用）→ " if zh else "Otherwise (no clause applies) → ")
        + _t(_OUTCOME[policy.default.outcome], zh),
    ]
    lines += _rule_lines(policy.default, lang, None)
    return "\n".join(lines) + "\n"


# --- the public document ------------------------------------------------------------------------------

#: How an amount's terms are said to the public (en, zh); other facts by their meaning (FactSpec.label).
PUBLIC_TERMS = {
    "order.amount": ("what you paid", "支付金额"),
    "order.refunded": ("what was already refunded", "已退款金额"),
    "order.channel_fee": ("the fee the payment channel kept", "支付通道收取的手续费"),
    "plan.period_days": ("the days in the paid period", "本周期天数"),
    "usage.days_used": ("the days used", "已使用天数"),
}
#: What each placeholder of an explanation is, said in words where no one decision's figures exist (en, zh).
PUBLIC_PLACEHOLDERS = {
    "refund": ("the refund", "退款金额"),
    "computation": ("how the refund is computed", "退款的计算方式"),
}


def _term(name: str, zh: bool) -> str:
    if name in PUBLIC_TERMS:
        return _t(PUBLIC_TERMS[name], zh)
    return FACTS[name].label("zh-Hans" if zh else "en") if name in FACTS else name


def amount_in_words(expr: str, lang: str) -> str:
    """An approve clause's amount expression (the engine's amount grammar) said in words, for the public:
    "what you paid − what was already refunded − the fee the payment channel kept" / "支付金额 − 已退款金额 −
    支付通道收取的手续费"; prorate_unused(a, used, period) as "a × (period − used) ÷ period", percent(a, p) as
    "p% of a", math.least/greatest as "the lesser of ...". No fact names, no function names."""
    zh = is_zh(lang)
    minus, times, divide = "\u2212", "\u00d7", "\u00f7"
    left, right = ("\uff08", "\uff09") if zh else ("(", ")")

    def group(node: ast.AST) -> str:
        text = say(node)
        return f"{left}{text}{right}" if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub) \
            else text

    def say(node: ast.AST) -> str:
        name = dotted(node)
        if name is not None:
            return _term(name, zh)
        if isinstance(node, ast.Constant):
            return number_text(node.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            sign = "+" if isinstance(node.op, ast.Add) else minus
            return f"{say(node.left)} {sign} {group(node.right)}"
        if isinstance(node, ast.BinOp):
            return f"{group(node.left)} {times} {group(node.right)}"
        if isinstance(node, ast.UnaryOp):
            return f"{minus}{group(node.operand)}"
        if isinstance(node, ast.Call):
            fname, args = dotted(node.func), node.args
            if fname in ("int", "double"):
                return say(args[0])
            if fname == "prorate_unused":
                return (f"{group(args[0])} {times} {left}{say(args[2])} {minus} {group(args[1])}{right} "
                        f"{divide} {group(args[2])}")
            if fname == "prorate":
                return f"{group(args[0])} {times} {group(args[1])} {divide} {group(args[2])}"
            if fname == "percent":
                return f"{group(args[0])} 的 {say(args[1])}%" if zh else f"{say(args[1])}% of {group(args[0])}"
            words = [group(a) for a in args]
            least = fname == "math.least"
            if zh:
                return "、".join(words[:-1]) + f" 与 {words[-1]} 中的" + ("较小者" if least else "较大者")
            return f"the {'lesser' if least else 'greater'} of " + ", ".join(words[:-1]) + f" and {words[-1]}"
        raise ValueError(f"cannot say {ast.unparse(node)!r} in words")  # pragma: no cover - the grammar

    return say(ast.parse(" ".join(expr.split()), mode="eval").body)


def public_text(rule: Rule, lang: str) -> str:
    """What the public document says of a clause (or the default) in `lang`: its summary, or when it has none
    its explanation with every placeholder in words (the policy's business days as numbers). Never a
    placeholder, a condition or an id."""
    if rule.summary is not None:
        return rule.summary.get(lang)
    zh = is_zh(lang)
    template = rule._templates[1 if zh else 0] if rule._templates is not None else None
    if template is None:  # pragma: no cover - a loaded rule always has its templates
        return rule.explanation.get(lang)
    return _filled(template, lambda name: _t(PUBLIC_PLACEHOLDERS[name], zh) if name in PUBLIC_PLACEHOLDERS
                   else _term(name, zh))


def public_sections(policy: Policy) -> tuple[Section, ...]:
    """Every section of the public document, in order: those the document declares (`sections`) as it
    declares them, then every other topic of policy.TOPICS in its standard order. Every rule (the store rule,
    the clauses, the default) is shown exactly once: where a section lists it, else in the section of its
    outcome (policy.TOPIC_OF_OUTCOME), after the ones listed there, in the order they are tried."""
    placed = {cid for section in policy.sections for cid in section.clauses}
    unplaced: dict[str, list[str]] = {}
    for rule in (*policy.clauses, policy.default):
        if rule.id not in placed:
            unplaced.setdefault(TOPIC_OF_OUTCOME[rule.outcome], []).append(rule.id)
    declared = {section.topic: section for section in policy.sections}
    order = [section.topic for section in policy.sections] + [t for t in TOPICS if t not in declared]
    out = []
    for topic in order:
        base = declared.get(topic, Section(topic=topic))
        out.append(Section(topic=topic, title=base.title, text=base.text,
                           clauses=(*base.clauses, *unplaced.get(topic, ()))))
    return tuple(out)

"""What a customer's free text asks for: whether it asks for a refund, which of their orders it names, and the
reason it gives, in English and Chinese. Plain word lists: the policy decides, these only route the message."""

from __future__ import annotations

import re

from refunddesk.billing.models import Customer, Order

REFUND_WORDS = re.compile(r"refund|money back|reimburse|charge ?back|退款|退钱|退费|退回|退订", re.I)
#: reason (core.vocabulary.REASONS) -> words that say it; the first that matches wins, else "other".
REASON_WORDS = (
    ("duplicate_charge", r"charged twice|double[- ]charged|duplicate (charge|payment)|two charges|重复扣|扣了两次|多扣"),
    ("wrong_charge", r"wrong amount|overcharged|charged too much|金额不对|扣错|多收"),
    ("service_outage", r"outage|service (was |is )?down|断网|宕机|服务中断"),
    ("technical_issue", r"cannot connect|can't connect|doesn't work|does not work|not working|无法连接|连不上|用不了"),
    ("changed_mind", r"changed my mind|don't need|do not need|不想用|不需要了"),
    ("not_satisfied", r"not satisfied|unhappy|disappointed|不满意"),
    ("emergency", r"emergency|紧急"),
)
CJK = re.compile(r"[\u4e00-\u9fff]")


def asks_refund(text: str) -> bool:
    """Whether `text` asks for money back."""
    return bool(REFUND_WORDS.search(text or ""))


def reason_of(text: str) -> str:
    """The request reason `text` gives (core.vocabulary.REASONS), "other" when none."""
    for reason, words in REASON_WORDS:
        if re.search(words, text or "", re.I):
            return reason
    return "other"


def order_named(customer: Customer, text: str) -> Order | None:
    """The customer's order whose number (`external_id`) appears in `text` as a word (case-insensitive); when
    several appear, the first in the text."""
    found = []
    for order in Order.objects.filter(customer=customer).only("id", "external_id"):
        match = re.search(rf"(?<![\w-]){re.escape(order.external_id)}(?![\w-])", text or "", re.I)
        if match:
            found.append((match.start(), order))
    return min(found, key=lambda pair: pair[0])[1] if found else None


def language_of(text: str, fallback: str = "en") -> str:
    """zh-hans when `text` has Chinese characters, else `fallback`."""
    return "zh-hans" if CJK.search(text or "") else fallback

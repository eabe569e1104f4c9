"""Chinese text reaches customers with full-width punctuation (issue 17, "Customers"): the translations
as compiled, the emails, and the policies' explanations and summaries, whatever keyboard their authors
typed on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.utils import translation

from refunddesk.core.i18n import LOCALE_DIR, compile_all, zh_punctuation
from refunddesk.policies.engine import load_policy

ROOT = Path(__file__).resolve().parents[2]
CJK = r"[\u3400-\u4dbf\u4e00-\u9fff]"
# a half-width mark written against a Chinese character, outside placeholders
HALF_WIDTH = re.compile(rf"{CJK}[,:;?!()]|[,:;?!()]{CJK}")
PLACEHOLDERS = re.compile(r"%\([^)]*\)\w|\{\{.*?\}\}|\{%.*?%\}|\{[^{}\s]*\}")


def half_width_marks(text: str) -> list[str]:
    """Each place where `text` has a half-width , : ; ? ! ( ) against a Chinese character."""
    text = PLACEHOLDERS.sub("X", text)
    return [text[max(m.start() - 6, 0) : m.end() + 6] for m in HALF_WIDTH.finditer(text)]


@pytest.mark.parametrize(("typed", "shown"), [
    ("该订单已全额退款({order.refunded}),没有可再退还的金额。", "该订单已全额退款（{order.refunded}），没有可再退还的金额。"),
    ("重复扣款:全额退还 {refund}({computation})。", "重复扣款：全额退还 {refund}（{computation}）。"),
    ("退款 %(amount)s 将超过订单 %(order)s 的实付金额;目前最多还可退 %(left)s。",
     "退款 %(amount)s 将超过订单 %(order)s 的实付金额；目前最多还可退 %(left)s。"),
    ("{{ name }},您好:", "{{ name }}，您好："),
    ("请于 21:56 前处理,金额 1,000 元", "请于 21:56 前处理，金额 1,000 元"),
    ("打开 https://example.com/a?b=1 查看", "打开 https://example.com/a?b=1 查看"),
    ("通过 App Store 购买(常见问题 Q2)。", "通过 App Store 购买（常见问题 Q2）。"),
    ("Plain English, (untouched).", "Plain English, (untouched)."),
])
def test_half_width_marks_become_full_width_and_placeholders_stay(typed, shown):
    assert zh_punctuation(typed) == shown
    assert zh_punctuation(shown) == shown  # idempotent


def test_every_chinese_translation_as_compiled_has_full_width_punctuation():
    compile_all()
    with (LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po").open("rb") as fh:
        catalog = read_po(fh)
    wrong = []
    with translation.override("zh-hans"):
        for message in catalog:
            if not message.id or isinstance(message.id, tuple):
                continue
            shown = translation.gettext(message.id)
            if half_width_marks(shown):
                wrong.append(shown)
    assert not wrong, f"{len(wrong)} translations show half-width punctuation, e.g. {wrong[:5]}"


def test_every_chinese_email_has_full_width_punctuation():
    wrong = {}
    for path in sorted((ROOT / "refunddesk" / "notify" / "templates" / "notify" / "email" / "zh-hans").glob("*.txt")):
        marks = half_width_marks(path.read_text(encoding="utf-8"))
        if marks:
            wrong[path.name] = marks
    assert not wrong


@pytest.mark.parametrize("name", ["subscription-vpn", "standard-14-day"])
def test_the_shipped_policies_speak_chinese_with_full_width_punctuation(name):
    policy = load_policy(ROOT / "policies" / f"{name}.yaml")
    texts = [policy.title.zh]
    for rule in (*policy.clauses, policy.default):
        texts.append(rule.explanation.zh)
        if rule.summary is not None:
            texts.append(rule.summary.zh)
    wrong = [mark for text in texts for mark in half_width_marks(text)]
    assert not wrong

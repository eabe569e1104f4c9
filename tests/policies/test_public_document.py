"""The public document of a policy (issue 17): `sections`, `changes` and `reapply` in the format, validated
when the document loads; the sections a document does not declare; amounts and placeholders said in words.
Pure: no database."""

from __future__ import annotations

import pytest

from refunddesk.policies.engine import PolicyError, load_policy, load_policy_text
from refunddesk.policies.explain import amount_in_words, public_sections, public_text
from refunddesk.policies.policy import TOPICS
from tests.policies.helpers import POLICY_DIR, SHIPPED

DOC = """\
id: demo
version: 1
title: {en: Demo, zh-Hans: 演示}
review_business_days: 3
refund_business_days: 5
store_purchases:
  id: store
  explanation: {en: "Ask {order.sales_channel}.", zh-Hans: "请向{order.sales_channel}申请。"}
clauses:
  - id: dup
    condition: charge.duplicate
    outcome: approve
    amount: order.amount - order.refunded - order.channel_fee
    explanation: {en: "Refund {refund} ({computation}) within {refund_business_days} days.", zh-Hans: "退款 {refund}（{computation}）。"}
  - id: support-first
    condition: "!support.contacted"
    outcome: reject
    reapply: true
    summary: {en: "Contact support first, then apply again.", zh-Hans: "请先联系客服，然后再次申请。"}
    explanation: {en: "Contact support first.", zh-Hans: "请先联系客服。"}
default:
  outcome: review
  explanation: {en: "A person looks at it within {review_business_days} days.", zh-Hans: "专人审核。"}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as err:
        load_policy_text(text, "demo.yaml")
    return [p.message for p in err.value.problems]


def test_a_document_without_sections_is_grouped_by_outcome_in_the_standard_order():
    policy = load_policy_text(DOC, "demo.yaml")
    sections = public_sections(policy)
    assert [s.topic for s in sections] == list(TOPICS)
    placed = {s.topic: s.clauses for s in sections}
    assert placed["eligible"] == ("dup",) and placed["not_refunded"] == ("support-first",)
    assert placed["case_by_case"] == ("default",) and placed["apply"] == ("store",)
    assert policy.clause("support-first").reapply and not policy.clause("dup").reapply


def test_declared_sections_keep_their_order_titles_and_texts_and_every_rule_is_shown_once():
    policy = load_policy_text(DOC + """\
sections:
  - topic: apply
    title: {en: Refund process, zh-Hans: 退款流程}
    text: {en: Sign in first., zh-Hans: 请先登录。}
    clauses: [store, support-first]
  - topic: eligible
    clauses: [dup]
changes: {en: Support first is new., zh-Hans: 新增先联系客服的规定。}
""", "demo.yaml")
    sections = public_sections(policy)
    assert [s.topic for s in sections][:2] == ["apply", "eligible"]
    assert sections[0].title.get("zh-Hans") == "退款流程" and sections[0].clauses == ("store", "support-first")
    assert {s.topic: s.clauses for s in sections}["case_by_case"] == ("default",)  # not declared: by outcome
    assert policy.changes.get("en") == "Support first is new."
    assert [w.message for w in policy.warnings if w.clause == "default"]  # a section should place it


@pytest.mark.parametrize(("sections", "expected"), [
    ("  - topic: eligable\n", "did you mean 'eligible'"),
    ("  - topic: apply\n  - topic: apply\n", "topic 'apply' is given twice"),
    ("  - topic: apply\n    clauses: [nope]\n", "no clause 'nope'"),
    ("  - topic: apply\n    clauses: [dup]\n  - topic: eligible\n    clauses: [dup]\n",
     "clause 'dup' is already shown in section apply"),
    ("  - topic: apply\n    titel: {en: x, zh-Hans: x}\n", "unknown key 'titel'"),
    ("  - topic: apply\n    text: {en: only English}\n", "'text' has no zh-Hans text"),
])
def test_a_wrong_section_is_an_error_of_the_document(sections, expected):
    assert any(expected in message for message in problems(DOC + "sections:\n" + sections))


def test_reapply_is_for_rejections_only():
    text = DOC.replace("    outcome: approve\n", "    outcome: approve\n    reapply: true\n", 1)
    assert any("'reapply' is for reject outcomes only" in m for m in problems(text))
    assert any("'reapply' is true or false" in m for m in problems(DOC.replace("reapply: true", "reapply: 2")))


@pytest.mark.parametrize(("expr", "en", "zh"), [
    ("order.amount - order.refunded", "what you paid − what was already refunded", "支付金额 − 已退款金额"),
    ("prorate_unused(order.amount - order.refunded, usage.days_used, plan.period_days)",
     "(what you paid − what was already refunded) × (the days in the paid period − the days used) ÷ the days in "
     "the paid period", "（支付金额 − 已退款金额） × （本周期天数 − 已使用天数） ÷ 本周期天数"),
    ("percent(order.amount, 50)", "50% of what you paid", "支付金额 的 50%"),
    ("math.least(order.amount, order.amount - order.channel_fee)",
     "the lesser of what you paid and (what you paid − the fee the payment channel kept)",
     "支付金额 与 （支付金额 − 支付通道收取的手续费） 中的较小者"),
])
def test_an_amount_is_said_in_words_without_fact_or_function_names(expr, en, zh):
    assert amount_in_words(expr, "en") == en
    assert amount_in_words(expr, "zh-Hans") == zh


def test_a_rule_is_said_by_its_summary_else_by_its_explanation_with_placeholders_in_words():
    policy = load_policy_text(DOC, "demo.yaml")
    assert public_text(policy.clause("support-first"), "en") == "Contact support first, then apply again."
    assert public_text(policy.clause("dup"), "en") == \
        "Refund the refund (how the refund is computed) within 5 days."
    assert public_text(policy.clause("dup"), "zh-Hans") == "退款 退款金额（退款的计算方式）。"
    assert public_text(policy.store_rule, "en") == "Ask where the order was bought."


SHIPPED_VERSIONS = {"subscription-vpn": 5, "standard-14-day": 5}  # 5: no_answer (issue 17); the VPN one also heavy use during review (issue 20)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_documents_place_every_rule_and_say_each_without_a_placeholder(name):
    policy = load_policy(POLICY_DIR / f"{name}.yaml")
    assert policy.warnings == () and policy.version == SHIPPED_VERSIONS[name] and policy.changes is not None
    shown = [cid for section in public_sections(policy) for cid in section.clauses]
    assert sorted(shown) == sorted(policy.rule_ids)
    for rule in (*policy.clauses, policy.default):
        for language in ("en", "zh-Hans"):
            assert "{" not in public_text(rule, language)

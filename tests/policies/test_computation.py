"""The computation behind a refund, told to the customer: the {computation} placeholder, the sentence the
engine adds when its cap or the no-negative rule changed the figure, the authors' warnings, and the
`says` expectation of case files. Pure tests."""

from __future__ import annotations

import pytest

from refunddesk.core.money import Money
from refunddesk.policies.engine import PolicyError, evaluate, load_policy_text
from refunddesk.policies.testing import CasesError, load_cases_text, run_cases
from tests.policies.helpers import facts, policy_text


def clause(amount: str, en: str = "{refund} ({computation})", zh: str = "{refund}({computation})") -> str:
    return f"""\
  - id: pay
    condition: "true"
    outcome: approve
    amount: {amount}
    explanation: {{en: "{en}", zh-Hans: "{zh}"}}
"""


def decide(amount: str, en: str = "{refund} ({computation})", zh: str = "{refund}({computation})", **changes):
    policy = load_policy_text(policy_text(clause(amount, en, zh)), "demo.yaml")
    return evaluate(policy, facts(**changes))


# --- {computation}: the amount expression with this decision's figures --------------------------------------------


def test_the_numbered_case_fee_and_earlier_refund_are_both_shown():
    d = decide("order.amount - order.refunded - order.channel_fee", order__refunded="10.00")
    assert d.refund == Money(1982, "CNY")
    assert d.explanation.en == "CN¥19.82 (CN¥30.00 paid − CN¥10.00 already refunded − CN¥0.18 payment channel fee)"
    assert d.explanation.zh == "¥19.82（支付金额 ¥30.00 − 已退款 ¥10.00 − 支付通道手续费 ¥0.18）"


def test_a_term_that_is_zero_is_left_out_and_a_lone_term_is_shown_alone():
    d = decide("order.amount - order.refunded - order.channel_fee")
    assert d.explanation.en == "CN¥29.82 (CN¥30.00 paid − CN¥0.18 payment channel fee)"
    d = decide("order.amount - order.refunded - order.channel_fee", order__channel_fee="0.00")
    assert d.explanation.en == "CN¥30.00 (CN¥30.00 paid)" and d.explanation.zh == "¥30.00（支付金额 ¥30.00）"


def test_proration_shows_the_days_and_parenthesises_the_remainder():
    d = decide(
        "prorate_unused(order.amount - order.refunded, usage.days_used, plan.period_days)",
        order__refunded="5.00",
        usage__days_used="3.5",
    )
    assert d.refund == Money(2208, "CNY")  # 25.00 x 26.5 / 30 = 22.0833...
    assert d.explanation.en == (
        "CN¥22.08 ((CN¥30.00 paid − CN¥5.00 already refunded) × (30 days in the period − 3.5 days used) "
        "÷ 30 days in the period)"
    )
    assert d.explanation.zh == (
        "¥22.08（（支付金额 ¥30.00 − 已退款 ¥5.00） × （本周期天数 30 − 已使用天数 3.5） ÷ 本周期天数 30）"
    )


def test_proration_with_more_used_than_the_period_shows_nothing_unused():
    d = decide("prorate_unused(order.amount, usage.days_used, plan.period_days)", usage__days_used="31")
    assert d.refund == Money(0, "CNY")
    assert "CN¥30.00 paid × 0 (31 days used) ÷ 30 days in the period" in d.explanation.en


@pytest.mark.parametrize(
    ("amount", "en"),
    [
        ("percent(order.amount, 90)", "CN¥30.00 paid × 90%"),
        ("prorate(order.amount, 2, 3)", "CN¥30.00 paid × 2 ÷ 3"),
        ("order.amount - 100", "CN¥30.00 paid − CN¥1.00"),  # a bare number beside money is minor units
        ("order.amount * 2 - order.refunded", "CN¥30.00 paid × 2"),
        (
            "math.least(order.amount - order.channel_fee, percent(order.amount, 90))",
            "the lesser of (CN¥30.00 paid − CN¥0.18 payment channel fee) and CN¥30.00 paid × 90%",
        ),
        (
            "math.greatest(order.amount - order.channel_fee, 100, 5) - order.refunded",
            "the greatest of (CN¥30.00 paid − CN¥0.18 payment channel fee), CN¥1.00 and CN¥0.05",
        ),
        ("int(double(order.amount) * 0.5)", "CN¥30.00 paid × 0.5"),
    ],
)
def test_every_part_of_the_amount_grammar_can_be_shown(amount, en):
    d = decide(amount)
    assert en in d.explanation.en
    assert d.explanation.zh  # rendered in Chinese too


def test_money_in_yen_and_in_dollars_is_formatted_like_the_refund():
    d = decide("order.amount - order.refunded", order__currency="JPY", order__amount="1200", order__refunded="200",
               order__channel_fee="0")
    assert d.explanation.en == "¥1,000 (¥1,200 paid − ¥200 already refunded)"
    assert d.explanation.zh == "JP¥1,000（支付金额 JP¥1,200 − 已退款 JP¥200）"


def test_computation_is_only_for_approve():
    text = policy_text("""\
  - id: no
    condition: "true"
    outcome: reject
    explanation: {en: "No ({computation}).", zh-Hans: 不。}
""")
    with pytest.raises(PolicyError) as err:
        load_policy_text(text, "demo.yaml")
    assert "{computation} can only be quoted by an approve outcome" in str(err.value)


# --- the engine's cap and no-negative rule are told, not hidden ------------------------------------------------------


def test_a_capped_amount_that_quotes_the_computation_says_it_was_limited():
    d = decide("order.amount - order.channel_fee", order__refunded="10.00")
    assert d.refund == Money(2000, "CNY") and d.capped
    assert d.explanation.en == (
        "CN¥20.00 (CN¥30.00 paid − CN¥0.18 payment channel fee = CN¥29.82, limited to the CN¥20.00 still "
        "refundable (CN¥30.00 paid − CN¥10.00 already refunded))"
    )
    assert d.explanation.zh == (
        "¥20.00（支付金额 ¥30.00 − 支付通道手续费 ¥0.18 = ¥29.82，以尚可退还的 ¥20.00（支付金额 ¥30.00 − 已退款 ¥10.00）为限）"
    )


def test_a_capped_amount_whose_explanation_does_not_quote_it_gets_the_computation_as_a_sentence():
    d = decide("order.amount", en="We refund {refund} in full.", zh="全额退还 {refund}。", order__refunded="10.00")
    assert d.refund == Money(2000, "CNY")
    assert d.explanation.en == (
        "We refund CN¥20.00 in full. How the refund was computed: CN¥30.00 paid = CN¥30.00, limited to the "
        "CN¥20.00 still refundable (CN¥30.00 paid − CN¥10.00 already refunded)."
    )
    assert d.explanation.zh == (
        "全额退还 ¥20.00。退款计算：支付金额 ¥30.00 = ¥30.00，以尚可退还的 ¥20.00（支付金额 ¥30.00 − 已退款 ¥10.00）为限。"
    )


def test_an_explanation_quoting_nothing_gets_the_sentence_too_and_only_where_it_is_missing():
    d = decide("order.amount", en="Refunded.", zh="{refund}({computation})", order__refunded="25.00")
    assert d.explanation.en.startswith("Refunded. How the refund was computed: CN¥30.00 paid = CN¥30.00, limited")
    assert d.explanation.zh.startswith("¥5.00（支付金额 ¥30.00 = ¥30.00，以尚可退还的 ¥5.00")
    assert "退款计算" not in d.explanation.zh


def test_an_uncapped_amount_leaves_an_explanation_without_computation_as_written():
    d = decide("order.amount", en="We refund {refund} in full.", zh="全额退还 {refund}。")
    assert d.explanation.en == "We refund CN¥30.00 in full." and d.explanation.zh == "全额退还 ¥30.00。"


def test_a_negative_amount_made_zero_says_so():
    d = decide("order.amount - order.channel_fee", order__amount="0.10")
    assert d.refund == Money(0, "CNY")
    assert d.explanation.en == "CN¥0.00 (CN¥0.10 paid − CN¥0.18 payment channel fee = -CN¥0.08; a refund cannot be negative)"
    assert d.explanation.zh == "¥0.00（支付金额 ¥0.10 − 支付通道手续费 ¥0.18 = -¥0.08；退款不能为负数）"
    quiet = decide("order.amount - order.channel_fee", en="{refund}.", zh="{refund}。", order__amount="0.10")
    assert quiet.explanation.en == (
        "CN¥0.00. How the refund was computed: CN¥0.10 paid − CN¥0.18 payment channel fee = -CN¥0.08; "
        "a refund cannot be negative."
    )


# --- advice for authors ---------------------------------------------------------------------------------------------


def test_warnings_name_amounts_on_the_full_price_and_explanations_without_the_computation():
    policy = load_policy_text(policy_text(clause("order.amount - order.channel_fee", en="{refund}", zh="{refund}")),
                              "demo.yaml")
    messages = [p.render("demo.yaml") for p in policy.warnings]
    assert len(messages) == 2
    assert messages[0].startswith("demo.yaml:10: clause 'pay': amount: computed on order.amount without order.refunded")
    assert "explanation (en, zh-Hans): does not quote {computation}" in messages[1]
    good = load_policy_text(policy_text(clause("order.amount - order.refunded - order.channel_fee")), "demo.yaml")
    assert good.warnings == ()


def test_policy_check_prints_the_warnings_on_stderr(tmp_path):
    import io

    from django.core.management import call_command

    path = tmp_path / "p.yaml"
    path.write_text(policy_text(clause("order.amount", en="{refund}", zh="{refund}")), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    call_command("policy", "check", str(path), stdout=out, stderr=err)
    assert out.getvalue().startswith("OK: ")
    assert err.getvalue().count("warning: ") == 2 and "order.refunded" in err.getvalue()


# --- case files: what the explanation must say ----------------------------------------------------------------------

CASES = """\
cases:
  - name: fee-after-partial-refund
    facts: {request.reason: technical_issue, order.refunded: "10.00"}
    expect:
      outcome: approve
      clause: pay
      amount: "19.82"
      says:
        en: ["CN¥30.00 paid", "CN¥10.00 already refunded"]
        zh-Hans: "支付通道手续费 ¥0.18"
"""


def test_says_checks_each_text_in_each_language():
    import yaml

    policy = load_policy_text(policy_text(clause("order.amount - order.refunded - order.channel_fee")), "demo.yaml")
    text = yaml.safe_dump({"defaults": facts(), **yaml.safe_load(CASES)}, allow_unicode=True)
    cases = load_cases_text(text)
    assert cases.cases[0].says == (
        ("en", "CN¥30.00 paid"), ("en", "CN¥10.00 already refunded"), ("zh-Hans", "支付通道手续费 ¥0.18"),
    )
    assert run_cases(policy, cases).results[0].passed
    [result] = run_cases(policy, load_cases_text(text.replace("¥0.18", "¥0.19"))).results
    assert not result.passed and "expected the zh-Hans explanation to say '支付通道手续费 ¥0.19'" in result.line()


@pytest.mark.parametrize(
    ("says", "words"),
    [("{fr: x}", "en and/or zh-Hans"), ("{en: ''}", "text or a list of texts"), ("text", "en and/or zh-Hans"),
     ("{en: [1]}", "text or a list of texts")],
)
def test_a_bad_says_is_refused_with_the_line(says, words):
    text = f"cases:\n  - name: a\n    expect: {{outcome: reject, clause: x, says: {says}}}\n"
    with pytest.raises(CasesError) as err:
        load_cases_text(text, "x.cases.yaml")
    assert words in str(err.value) and "x.cases.yaml:3" in str(err.value)

"""Issue 13 item 8: the shipped policies compute every amount on what is still refundable (amount paid
less what was already refunded), and the explanation states the computation actually used, with the
real figures, in both languages. Pure tests over the shipped documents."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refunddesk.core.money import Money
from refunddesk.policies.engine import evaluate
from refunddesk.policies.money_text import format_minor
from tests.policies.helpers import SHIPPED, facts
from tests.policies.test_shipped_policies import any_facts

# --- the numbered case and others of its kind ----------------------------------------------------------------------


def test_vpn_technical_problem_after_10_refunded_deducts_the_fee_from_what_is_left(shipped):
    decision = evaluate(
        shipped["subscription-vpn"],
        facts(request__reason="technical_issue", support__contacted=True, support__resolved=False,
              order__refunded="10.00", order__channel_fee="0.18"),
    )
    assert decision.clause == "technical-problem-unsolved"
    assert decision.refund == Money(1982, "CNY") and not decision.capped  # was 20.00: the fee lost in the cap
    assert "CN¥19.82 (CN¥30.00 paid − CN¥10.00 already refunded − CN¥0.18 payment channel fee)" in (
        decision.explanation.en
    )
    assert "¥19.82（支付金额 ¥30.00 − 已退款 ¥10.00 − 支付通道手续费 ¥0.18）" in decision.explanation.zh


def test_vpn_outage_after_a_partial_refund_prorates_what_is_left(shipped):
    decision = evaluate(
        shipped["subscription-vpn"],
        facts(request__reason="service_outage", outage__longest_hours=80.0, usage__days_used="3",
              order__refunded="5.00"),
    )
    # (30.00 - 5.00) x (30 - 3) / 30; was 27.00 capped to 25.00 - every cent back, the 3 used days too
    assert decision.clause == "major-outage" and decision.refund == Money(2250, "CNY")
    assert "CN¥22.50: (CN¥30.00 paid − CN¥5.00 already refunded) × (30 days in the period − 3 days used) ÷ " \
           "30 days in the period." in decision.explanation.en
    assert "¥22.50，计算方式：（支付金额 ¥30.00 − 已退款 ¥5.00） × （本周期天数 30 − 已使用天数 3） ÷ 本周期天数 30。" in (
        decision.explanation.zh
    )


def test_vpn_fee_larger_than_what_is_left_is_not_lost_either(shipped):
    decision = evaluate(
        shipped["subscription-vpn"],
        facts(request__reason="technical_issue", support__contacted=True, order__refunded="29.90"),
    )
    assert decision.refund == Money(0, "CNY")  # was 0.10: 29.82 capped to what was left, the fee lost again
    assert "= -CN¥0.08; a refund cannot be negative" in decision.explanation.en


def test_vpn_trial_after_a_partial_refund_is_the_rest_and_says_what_was_refunded(shipped):
    decision = evaluate(
        shipped["subscription-vpn"],
        facts(customer__new=True, request__reason="not_satisfied", order__purchased_at="2025-03-10T06:00:00+08:00",
              order__refunded="10.00"),
    )
    assert decision.clause == "new-user-trial" and decision.refund == Money(2000, "CNY")
    assert "full refund: CN¥20.00 (CN¥30.00 paid − CN¥10.00 already refunded)" in decision.explanation.en
    assert "全额退款：¥20.00（支付金额 ¥30.00 − 已退款 ¥10.00）" in decision.explanation.zh


def test_14_day_full_refund_after_a_partial_refund_says_what_was_refunded(shipped):
    decision = evaluate(shipped["standard-14-day"], facts(request__reason="not_satisfied", order__refunded="10.00"))
    assert decision.clause == "within-14-days-unused" and decision.refund == Money(2000, "CNY")
    assert not decision.capped
    assert "no fees deducted: CN¥20.00 (CN¥30.00 paid − CN¥10.00 already refunded)" in decision.explanation.en
    assert "不扣除任何手续费：¥20.00（支付金额 ¥30.00 − 已退款 ¥10.00）" in decision.explanation.zh


# --- the whole kind, over random facts -----------------------------------------------------------------------------


@given(data=any_facts(), name=st.sampled_from(SHIPPED))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_shipped_amounts_are_computed_on_what_is_still_refundable(shipped, data, name):
    """The engine's cap never has to change a shipped policy's figure: each amount is already computed on
    what is still refundable (a negative one - a fee above what is left - is the only change, to 0)."""
    decision = evaluate(shipped[name], data)
    if decision.outcome == "approve":
        assert not decision.capped or decision.computed_refund.minor < 0, decision.trace[-1].notes


@given(data=any_facts(), name=st.sampled_from(SHIPPED))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_shipped_approvals_state_the_figures_they_used(shipped, data, name):
    """Every approval states the amount paid, and what was already refunded whenever something was, in
    both languages; the fee exactly when the clause deducted it."""
    decision = evaluate(shipped[name], data)
    if decision.outcome != "approve":
        return
    order = data["order"]
    currency = order["currency"]

    def shown(field: str, zh: bool) -> str:
        value = Decimal(order[field])
        minor = int(value if currency == "JPY" else value * 100)
        return format_minor(minor, currency, zh)

    en, zh = decision.explanation.en, decision.explanation.zh
    assert f"{shown('amount', False)} paid" in en and f"支付金额 {shown('amount', True)}" in zh
    if Decimal(order["refunded"]) > 0:
        assert f"{shown('refunded', False)} already refunded" in en
        assert f"已退款 {shown('refunded', True)}" in zh
    else:
        assert "already refunded" not in en and "已退款" not in zh
    deducts_fee = "order.channel_fee" in (shipped[name].clause(decision.clause).amount or "")
    if deducts_fee and Decimal(order["channel_fee"]) > 0:
        assert f"{shown('channel_fee', False)} payment channel fee" in en
        assert f"支付通道手续费 {shown('channel_fee', True)}" in zh
    else:
        assert "payment channel fee" not in en
    assert format_minor(decision.refund.minor, currency, False) in en
    assert format_minor(decision.refund.minor, currency, True) in zh


def test_no_shipped_clause_computes_on_the_full_price_or_hides_its_computation(shipped):
    for name in SHIPPED:
        assert shipped[name].warnings == (), [w.render(name) for w in shipped[name].warnings]

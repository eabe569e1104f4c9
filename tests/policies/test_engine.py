"""The policy engine: loading and validation, evaluation, money, errors, determinism. Pure tests."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refunddesk.core.money import Money
from refunddesk.policies import amounts, cel_env, engine
from refunddesk.policies import facts as facts_module
from refunddesk.policies.engine import (
    EvaluationError,
    FactError,
    PolicyError,
    evaluate,
    load_policy,
    load_policy_text,
)
from refunddesk.policies.money_text import format_money
from tests.policies.helpers import BASE_FACTS, POLICY_DIR, REPO, facts, policy_text

PURE_MODULES = [
    "engine", "facts", "fast_facts", "explain", "testing", "computation", "amounts", "cel_env", "cel_tree",
    "errors", "evaluation", "money_text", "policy", "schema", "templates", "yaml_lines",
]
HEADER_DUP = "id: demo\nid: again\n"

APPROVE_PRORATED = """\
  - id: prorated
    condition: request.reason == 'service_outage'
    outcome: approve
    amount: prorate_unused(order.amount, usage.days_used, plan.period_days)
    explanation:
      en: "{usage.days_used} of {plan.period_days} days used; refund {refund}."
      zh-Hans: "已使用 {usage.days_used} 天，退款 {refund}。"
"""


def load(clauses: str, default: str | None = None) -> engine.Policy:
    return load_policy_text(policy_text(clauses, default), "demo.yaml")


def problems_of(text: str) -> list[engine.Problem]:
    with pytest.raises(PolicyError) as err:
        load_policy_text(text, "demo.yaml")
    return list(err.value.problems)


# --- purity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("module", PURE_MODULES)
def test_engine_modules_do_not_mention_django(module):
    source = (REPO / "refunddesk" / "policies" / f"{module}.py").read_text(encoding="utf-8")
    imports = [line for line in source.splitlines() if line.lstrip().startswith(("import ", "from "))]
    assert not [line for line in imports if "django" in line]


def test_engine_modules_import_with_django_blocked():
    code = (
        "import sys\n"
        "sys.modules['django'] = None  # any `import django...` now fails\n"
        + "".join(f"import refunddesk.policies.{module}\n" for module in PURE_MODULES)
        + "from refunddesk.policies.engine import load_policy, evaluate\n"
        f"p = load_policy({str(POLICY_DIR / 'subscription-vpn.yaml')!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith('django')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['django']"  # only our own blocker


# --- loading a good document -----------------------------------------------------------------


def test_a_small_policy_loads_and_knows_what_it_reads():
    policy = load(APPROVE_PRORATED)
    assert policy.id == "demo" and policy.version == 1
    assert policy.title["en"] == "Demo" and policy.title["zh-Hans"] == "演示"
    assert [c.id for c in policy.clauses] == ["store-purchase", "prorated"]  # the store rule is tried first
    assert policy.rule_ids == ("store-purchase", "prorated", "default")
    assert set(policy.facts) == {
        "order.sales_channel",
        "request.reason",
        "order.amount",
        "order.refunded",
        "order.currency",
        "usage.days_used",
        "plan.period_days",
    }
    assert policy.review_business_days == 3 and policy.refund_business_days == 5


def test_to_dict_round_trips_through_yaml():
    policy = load_policy(POLICY_DIR / "subscription-vpn.yaml")
    again = load_policy_text(yaml.safe_dump(policy.to_dict(), allow_unicode=True), "again.yaml")
    assert again.to_dict() == policy.to_dict()
    assert again == policy


def test_decision_json_shape():
    policy = load(APPROVE_PRORATED)
    decision = evaluate(policy, facts(request__reason="service_outage"))
    data = decision.to_json()
    assert list(data) == ["policy", "outcome", "clause", "refund", "explanation", "trace"]
    assert data["policy"] == {"id": "demo", "version": "1"}  # a string, as everywhere in the API
    assert data["outcome"] == "approve" and data["clause"] == "prorated"
    assert data["refund"] == {"amount": "27.00", "currency": "CNY"}
    assert data["explanation"] == {
        "en": "3 of 30 days used; refund CN¥27.00.",
        "zh": "已使用 3 天，退款 ¥27.00。",
    }
    assert data["trace"][0] == {"clause": "store-purchase", "matched": False}  # the store rule, always first
    assert data["trace"][1]["clause"] == "prorated" and data["trace"][1]["matched"] is True
    json.dumps(data)  # serialisable as it is
    assert decision.amount == decision.refund == Money(2700, "CNY")


def test_default_decides_when_no_clause_matches_and_the_trace_lists_every_clause():
    policy = load(
        APPROVE_PRORATED
        + """\
  - id: never
    condition: "false"
    outcome: reject
    explanation: {en: No., zh-Hans: 不。}
"""
    )
    decision = evaluate(policy, facts())
    assert decision.outcome == "review" and decision.clause == "default" and decision.refund is None
    assert [(s.clause, s.matched) for s in decision.trace] == [
        ("store-purchase", False), ("prorated", False), ("never", False)
    ]
    assert decision.explanation.en == "A person decides."


def test_first_matching_clause_wins_and_later_clauses_are_not_looked_at():
    policy = load(
        """\
  - id: first
    condition: "true"
    outcome: reject
    explanation: {en: First., zh-Hans: 一。}
  - id: second
    condition: "true"
    outcome: review
    explanation: {en: Second., zh-Hans: 二。}
"""
    )
    decision = evaluate(policy, facts())
    assert decision.clause == "first"
    assert [(s.clause, s.matched) for s in decision.trace] == [("store-purchase", False), ("first", True)]


def test_many_clauses_beyond_cels_nesting_limit_still_evaluate_in_order():
    clauses = "".join(
        f"""\
  - id: c{i}
    condition: customer.refunds_last_year == {i} && !customer.tos_violation
    outcome: reject
    explanation: {{en: "Clause {i}.", zh-Hans: "条款 {i}。"}}
"""
        for i in range(80)
    )
    policy = load(clauses)
    assert len(policy._segments) > 1  # split: CEL's parser nests at most 32 deep
    for i in (0, 31, 32, 57, 79):
        decision = evaluate(policy, facts(customer__refunds_last_year=i))
        assert decision.clause == f"c{i}"
        assert len(decision.trace) == i + 2 and decision.trace[-1].matched  # the store rule, then c0..ci
    assert evaluate(policy, facts(customer__refunds_last_year=80)).clause == "default"


# --- validation errors: each names the clause and the line ------------------------------------


def test_bad_cel_syntax_names_clause_and_line():
    [p] = problems_of(
        policy_text(
            """\
  - id: broken
    condition: order.amount >
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "broken" and p.line == 8
    assert "Syntax error" in p.message
    assert "demo.yaml:8: clause 'broken': condition:" in p.render("demo.yaml")


def test_error_line_inside_a_multi_line_condition():
    [p] = problems_of(
        policy_text(
            """\
  - id: multi
    condition: |
      customer.new &&
      customer.refunds_last_year > 1.5
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "multi" and p.line == 10  # the second line of the block
    assert "int and double" in p.message  # with a hint


def test_unknown_fact_names_clause_line_and_suggests():
    [p] = problems_of(
        policy_text(
            """\
  - id: typo
    condition: order.ammount > 0
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "typo" and p.line == 8
    assert "undeclared reference to 'order.ammount'" in p.message
    assert "did you mean 'order.amount'" in p.message


def test_type_mismatch_names_clause_and_line():
    [p] = problems_of(
        policy_text(
            """\
  - id: mismatch
    condition: customer.region > 3
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "mismatch" and p.line == 8
    assert "no matching overload" in p.message


def test_condition_that_is_not_bool_is_refused():
    [p] = problems_of(
        policy_text(
            """\
  - id: notbool
    condition: plan.period_days
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "notbool" and p.line == 8 and "bool" in p.message


def test_explanation_must_have_both_languages():
    [p] = problems_of(
        policy_text(
            """\
  - id: english-only
    condition: "true"
    outcome: reject
    explanation:
      en: No refund.
"""
        )
    )
    assert p.clause == "english-only" and p.line == 10
    assert "zh-Hans" in p.message


def test_missing_explanation_is_refused():
    [p] = problems_of(
        policy_text(
            """\
  - id: silent
    condition: "true"
    outcome: reject
"""
        )
    )
    assert p.clause == "silent" and p.line == 7 and "'explanation' is missing" in p.message


def test_duplicate_clause_id_names_both_lines():
    problems = problems_of(
        policy_text(
            """\
  - id: twice
    condition: "true"
    outcome: reject
    explanation: {en: x, zh-Hans: y}
  - id: twice
    condition: "false"
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    [p] = problems
    assert p.clause == "twice" and p.line == 11 and "first used on line 7" in p.message


def test_outcome_that_does_not_exist():
    [p] = problems_of(
        policy_text(
            """\
  - id: odd
    condition: "true"
    outcome: refund
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "odd" and p.line == 9
    assert "outcome 'refund' does not exist" in p.message and "approve" in p.message


def test_approve_without_amount():
    [p] = problems_of(
        policy_text(
            """\
  - id: generous
    condition: "true"
    outcome: approve
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "generous" and p.line == 7 and "needs an 'amount'" in p.message


def test_missing_default():
    text = policy_text(
        """\
  - id: only
    condition: "true"
    outcome: reject
    explanation: {en: x, zh-Hans: y}
""",
        default="",
    )
    [p] = problems_of(text)
    assert p.clause == "default" and p.line == 1 and "'default' is missing" in p.message


def test_amount_with_division_is_refused():
    [p] = problems_of(
        policy_text(
            """\
  - id: half
    condition: "true"
    outcome: approve
    amount: order.amount / 2
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "half" and p.line == 10 and "prorate" in p.message


def test_amount_must_be_int_minor_units():
    [p] = problems_of(
        policy_text(
            """\
  - id: float
    condition: "true"
    outcome: approve
    amount: double(order.amount) * 0.5
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "float" and p.line == 10 and "int of minor units" in p.message


def test_amount_on_a_reject_is_refused():
    [p] = problems_of(
        policy_text(
            """\
  - id: confused
    condition: "true"
    outcome: reject
    amount: order.amount
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "confused" and p.line == 10 and "only for approve" in p.message


def test_unknown_placeholder_names_clause():
    [p] = problems_of(
        policy_text(
            """\
  - id: quoting
    condition: "true"
    outcome: reject
    explanation:
      en: "You used {usage.day_used} days."
      zh-Hans: 不。
"""
        )
    )
    assert p.clause == "quoting" and p.line == 10
    assert "{usage.day_used}" in p.message and "{usage.days_used}" in p.message


def test_refund_placeholder_only_for_approve():
    [p] = problems_of(
        policy_text(
            """\
  - id: tease
    condition: "true"
    outcome: reject
    explanation: {en: "No {refund}.", zh-Hans: 不。}
"""
        )
    )
    assert p.clause == "tease" and "{refund}" in p.message


def test_literal_braces_are_escaped_by_doubling():
    policy = load(
        """\
  - id: braces
    condition: "true"
    outcome: reject
    explanation: {en: "Set {{x}} to {plan.period_days}.", zh-Hans: 好。}
"""
    )
    assert evaluate(policy, facts()).explanation.en == "Set {x} to 30."
    [p] = problems_of(
        policy_text(
            '  - id: b\n    condition: "true"\n    outcome: reject\n    explanation: {en: "a } b", zh-Hans: y}\n'
        )
    )
    assert "lone '}'" in p.message


def test_a_misspelt_fixed_value_is_caught():
    [p] = problems_of(
        policy_text(
            """\
  - id: reasons
    condition: request.reason in ['technical_isue', 'other']
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "reasons" and "'technical_isue' is not a value of request.reason" in p.message
    assert "did you mean 'technical_issue'" in p.message


def test_unknown_keys_duplicate_yaml_keys_and_bad_yaml():
    [p] = problems_of(
        policy_text(
            """\
  - id: k
    condition: "true"
    outcome: reject
    explantion: {en: x, zh-Hans: y}
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "k" and p.line == 10 and "did you mean 'explanation'" in p.message
    [p] = problems_of(HEADER_DUP)
    assert p.line == 2 and "'id' appears twice" in p.message
    [p] = problems_of("id: [unclosed\n")
    assert p.line is not None and "not valid YAML" in p.message


def test_every_problem_is_reported_at_once():
    problems = problems_of(
        policy_text(
            """\
  - id: a
    condition: order.foo
    outcome: approve
    explanation: {en: x, zh-Hans: y}
  - id: b
    condition: "true"
    outcome: maybe
    explanation: {en: x}
""",
            default="",
        )
    )
    assert {p.clause for p in problems} == {"a", "b", "default"}
    assert len(problems) >= 5


def test_business_days_are_required():
    text = policy_text(
        '  - id: a\n    condition: "true"\n    outcome: reject\n    explanation: {en: x, zh-Hans: y}\n'
    )
    [p] = problems_of(text.replace("review_business_days: 3\n", ""))
    assert "'review_business_days' is missing" in p.message


# --- money -----------------------------------------------------------------------------------


def test_prorating_3_days_of_a_30_day_30_cny_plan_is_exactly_27():
    policy = load(APPROVE_PRORATED)
    decision = evaluate(policy, facts(request__reason="service_outage", usage__days_used="3"))
    assert decision.refund == Money(2700, "CNY") and str(decision.refund.amount) == "27.00"


@pytest.mark.parametrize(
    ("amount", "currency", "used", "expected"),
    [
        ("10.00", "CNY", "1", "9.67"),  # 9.666... rounds to the fen
        ("10.01", "CNY", "15", "5.01"),  # 5.005 -> 5.01: half-up, not half-even
        ("10.03", "CNY", "15", "5.02"),  # 5.015 -> 5.02
        ("1001", "JPY", "15", "501"),  # 500.5 -> 501 yen: JPY has no minor unit
        ("1000", "JPY", "1", "967"),
        ("1.001", "KWD", "15", "0.501"),  # three decimals
        ("30.00", "CNY", "3.3", "26.70"),  # a decimal fact: 30 x 26.7 / 30
        ("30.00", "CNY", "45", "0.00"),  # more than the period used: nothing unused
    ],
)
def test_prorating_rounds_once_half_up_to_the_minor_unit(amount, currency, used, expected):
    policy = load(APPROVE_PRORATED)
    decision = evaluate(
        policy,
        facts(
            request__reason="service_outage",
            usage__days_used=used,
            order__amount=amount,
            order__currency=currency,
            order__refunded="0",
            order__channel_fee="0",
        ),
    )
    assert decision.refund.amount == Decimal(expected) and decision.refund.currency == currency


def test_amount_functions_are_exact():
    assert amounts.prorate(3000, 27, 30) == 2700
    assert amounts.prorate(1001, 15, 30) == 501
    assert amounts.prorate(3000, 26.7, 30.0) == 2670  # doubles read back as their short decimals
    assert amounts.prorate_unused(3000, 0.1 + 0.2, 30) == 2970  # 0.30000000000000004 -> 0.3
    assert amounts.percent(1999, 50) == 1000  # 999.5 -> 1000
    assert amounts.percent(1999, 12.5) == 250  # 249.875 -> 250
    with pytest.raises(ValueError):
        amounts.prorate(100, 1, 0)


def test_amount_expression_arithmetic_and_helpers():
    policy = load(
        """\
  - id: fee
    condition: "true"
    outcome: approve
    amount: math.least(order.amount - order.channel_fee, percent(order.amount, 90))
    explanation: {en: "{refund}", zh-Hans: "{refund}"}
"""
    )
    decision = evaluate(policy, facts())
    assert decision.refund == Money(2700, "CNY")  # 90% (27.00) is less than 30.00 - 0.18
    assert decision.explanation.en == "CN¥27.00" and decision.explanation.zh == "¥27.00"


def test_refund_is_capped_at_what_is_still_refundable_and_the_trace_says_so():
    policy = load(APPROVE_PRORATED)
    decision = evaluate(policy, facts(request__reason="service_outage", order__refunded="5.00"))
    assert decision.refund == Money(2500, "CNY")
    assert decision.computed_refund == Money(2700, "CNY") and decision.capped
    notes = decision.trace[-1].notes
    assert any("capped from 27.00 CNY to 25.00 CNY" in note for note in notes)
    assert decision.to_json()["trace"][-1]["notes"] == list(notes)


def test_a_negative_amount_becomes_zero_with_a_note():
    policy = load(
        """\
  - id: fee
    condition: "true"
    outcome: approve
    amount: order.amount - order.channel_fee
    explanation: {en: "{refund}", zh-Hans: "{refund}"}
"""
    )
    decision = evaluate(policy, facts(order__amount="0.10", order__channel_fee="0.18"))
    assert decision.refund == Money(0, "CNY") and decision.computed_refund == Money(-8, "CNY")
    assert any("cannot be negative" in note for note in decision.trace[-1].notes)


def test_approve_by_default_is_capped_too():
    policy = load(
        APPROVE_PRORATED,
        default="default:\n  outcome: approve\n  amount: order.amount * 2\n"
        "  explanation: {en: '{refund}', zh-Hans: '{refund}'}\n",
    )
    decision = evaluate(policy, facts())
    assert decision.clause == "default" and decision.refund == Money(3000, "CNY")
    assert decision.trace[-1].clause == "default" and "capped" in decision.trace[-1].notes[-1]


@given(
    st.integers(min_value=0, max_value=10**9),
    st.sampled_from(["CNY", "USD", "JPY", "KWD", "EUR", "GBP"]),
    st.sampled_from(["en", "zh-Hans"]),
)
@settings(max_examples=200, deadline=None)
def test_fast_money_formatting_equals_babel(minor, currency, lang):
    money = Money(minor, currency)
    assert format_money(money, lang) == money.format(lang)


# --- facts: missing, wrong type, runtime errors -------------------------------------------------


def test_missing_fact_is_an_error_naming_it():
    policy = load(APPROVE_PRORATED)
    data = facts()
    del data["usage"]["days_used"]
    with pytest.raises(FactError) as err:
        evaluate(policy, data)
    assert err.value.fact == "usage.days_used" and "missing fact: 'usage.days_used'" in str(err.value)


def test_all_missing_facts_are_named_together():
    with pytest.raises(FactError) as err:
        evaluate(load(APPROVE_PRORATED), {"order": {"currency": "CNY"}})
    message = str(err.value)
    for name in ("request.reason", "order.amount", "usage.days_used", "plan.period_days"):
        assert f"'{name}'" in message


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        ("order.amount", 30.0, "not a float"),
        ("order.amount", "30.005", "more decimals"),
        ("order.amount", "-1.00", "negative"),
        ("order.amount", "thirty", "not a number"),
        ("order.currency", "XYZ", "ISO 4217"),
        ("plan.period_days", "30", "must be int"),
        ("plan.period_days", True, "must be int"),
        ("plan.period_days", 0, "at least 1"),
        ("request.reason", "refund_plz", "one of technical_issue"),
        ("request.reason", None, "is null"),
        ("usage.days_used", "lots", "decimal string"),
        ("usage.days_used", True, "decimal string"),
    ],
)
def test_wrong_type_is_an_error_naming_the_fact(path, value, words):
    head, tail = path.split(".")
    data = facts()
    data[head][tail] = value
    with pytest.raises(FactError) as err:
        evaluate(load(APPROVE_PRORATED), data)
    assert err.value.fact == path
    assert path in str(err.value) and words in str(err.value)


@pytest.mark.parametrize("stamp", ["2025-03-05T10:00:00", "2025-03-05", "yesterday", 1741140000])
def test_timestamps_need_an_offset(stamp):
    policy = load(
        """\
  - id: late
    condition: request.submitted_at - order.purchased_at > days(plan.refund_window_days)
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
    )
    with pytest.raises(FactError) as err:
        evaluate(policy, facts(order__purchased_at=stamp))
    assert err.value.fact == "order.purchased_at"


def test_accepted_spellings_of_facts():
    policy = load(APPROVE_PRORATED)
    flat = facts_module.flatten(facts(request__reason="service_outage"))
    nested = facts(request__reason="service_outage")
    assert evaluate(policy, flat) == evaluate(policy, nested)
    # a double fact may come as an int or a decimal string; a decimal as a float; a timestamp as Z
    looser = facts(request__reason="service_outage", usage__days_used=3.0, now="2025-03-10T04:00:00Z")
    assert evaluate(policy, looser).refund == evaluate(policy, nested).refund


def test_runtime_error_in_a_condition_is_an_error_naming_the_clause_not_false():
    policy = load(
        """\
  - id: fine
    condition: customer.new
    outcome: reject
    explanation: {en: x, zh-Hans: y}
  - id: divides
    condition: 100 / plan.trial_hours > 1
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
    )
    assert evaluate(policy, facts(plan__trial_hours=10)).clause == "divides"
    with pytest.raises(EvaluationError) as err:
        evaluate(policy, facts(plan__trial_hours=0))
    assert err.value.clause == "divides" and "divide by zero" in str(err.value)
    assert evaluate(policy, facts(customer__new=True, plan__trial_hours=0)).clause == "fine"  # never reached


def test_runtime_error_in_an_amount_names_the_clause():
    policy = load(
        """\
  - id: weird
    condition: "true"
    outcome: approve
    amount: prorate(order.amount, 1, plan.trial_hours)
    explanation: {en: x, zh-Hans: y}
"""
    )
    with pytest.raises(EvaluationError) as err:
        evaluate(policy, facts(plan__trial_hours=0))
    assert err.value.clause == "weird" and "more than 0" in str(err.value)


# --- explanations quote facts -----------------------------------------------------------------


def test_explanations_quote_facts_in_each_language():
    policy = load(
        """\
  - id: quote
    condition: "true"
    outcome: approve
    amount: order.amount
    explanation:
      en: "{outage.longest_hours}h down, window {plan.refund_window_days} days, {usage.days_used} used,
        via {order.sales_channel}, new: {customer.new}, bought {order.purchased_at}, paid {order.amount},
        refund {refund} in {refund_business_days} days"
      zh-Hans: "中断 {outage.longest_hours} 小时，渠道 {order.sales_channel}，新用户：{customer.new}，退款 {refund}"
"""
    )
    decision = evaluate(
        policy, facts(outage__longest_hours=72.5, usage__days_used="3.50", order__sales_channel="reseller")
    )
    assert decision.explanation.en == (
        "72.5h down, window 7 days, 3.5 used, via a reseller, new: no, bought March 5, 2025, "
        "paid CN¥30.00, refund CN¥30.00 in 5 days"
    )
    assert decision.explanation.zh == "中断 72.5 小时，渠道 经销商，新用户：否，退款 ¥30.00"


# --- determinism ------------------------------------------------------------------------------

reasons = st.sampled_from(facts_module.FACTS["request.reason"].choices)
money_text = st.integers(min_value=0, max_value=10**7).map(lambda m: f"{m // 100}.{m % 100:02d}")


@st.composite
def random_facts(draw):
    amount = draw(st.integers(min_value=1, max_value=10**7))
    return facts(
        request__reason=draw(reasons),
        customer__new=draw(st.booleans()),
        customer__tos_violation=draw(st.booleans()),
        order__amount=f"{amount // 100}.{amount % 100:02d}",
        order__refunded=draw(money_text),
        order__channel_fee=draw(money_text),
        order__sales_channel=draw(st.sampled_from(facts_module.FACTS["order.sales_channel"].choices)),
        order__promotional=draw(st.booleans()),
        order__refundable=draw(st.booleans()),
        order__purchased_at=draw(
            st.sampled_from(["2025-03-10T11:00:00+08:00", "2025-03-05T10:00:00Z", "2025-01-01T00:00:00Z"])
        ),
        plan__period_days=draw(st.integers(min_value=1, max_value=400)),
        plan__refund_window_days=draw(st.integers(min_value=0, max_value=60)),
        plan__trial_hours=draw(st.sampled_from([0, 24, 48])),
        usage__days_used=str(draw(st.decimals(min_value=0, max_value=400, places=2))),
        usage__paid_features_used=draw(st.booleans()),
        usage__quota_used_ratio=draw(st.floats(min_value=0, max_value=1)),
        support__contacted=draw(st.booleans()),
        support__resolved=draw(st.booleans()),
        outage__longest_hours=draw(st.floats(min_value=0, max_value=500)),
        outage__force_majeure=draw(st.booleans()),
        charge__duplicate=draw(st.booleans()),
        charge__erroneous=draw(st.booleans()),
    )


@given(random_facts())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_same_facts_and_version_give_the_identical_decision(data):
    text = (POLICY_DIR / "subscription-vpn.yaml").read_text(encoding="utf-8")
    first = load_policy_text(text, "a.yaml")
    second = load_policy_text(text, "b.yaml")  # compiled again: same version, same decision
    one = evaluate(first, data)
    assert evaluate(first, data) == one
    assert evaluate(second, data) == one
    assert json.dumps(evaluate(second, data).to_json(), sort_keys=True) == json.dumps(
        one.to_json(), sort_keys=True
    )
    assert evaluate(first, facts_module.flatten(data)) == one


def test_base_facts_cover_the_whole_contract():
    assert set(facts_module.flatten(BASE_FACTS)) == set(facts_module.FACTS)
    converted = facts_module.convert(BASE_FACTS)
    assert converted.cel["order.amount"] == 3000 and converted.value("order.amount") == Money(3000, "CNY")
    assert converted.value("usage.days_used") == Decimal("3")


def test_load_policy_reports_an_unreadable_file(tmp_path: Path):
    with pytest.raises(PolicyError) as err:
        load_policy(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(err.value) and "cannot read" in str(err.value)


# --- nothing calls back into Python at run time (cel-expr-python leaks per callback) ------------


def test_conditions_run_in_an_environment_without_python_functions():
    with pytest.raises(RuntimeError, match="days"):
        cel_env.run_env().compile("days(1) > duration('1s')")
    policy = load_policy(POLICY_DIR / "subscription-vpn.yaml")
    for clause in policy.clauses:
        if clause.outcome == "approve":
            assert callable(clause._amount) and not hasattr(clause._amount, "eval")


@pytest.mark.parametrize(
    ("expr", "native"),
    [
        ("days(14) > x", 'duration(string((14) * 86400) + "s") > x'),
        ("hours(plan.trial_hours)", 'duration(string((plan.trial_hours) * 3600) + "s")'),
        (
            "days(int(hours(2) > x))",
            'duration(string((int(duration(string((2) * 3600) + "s") > x)) * 86400) + "s")',
        ),
        ("'days(1)' == s && days((1 + 2))", "'days(1)' == s && duration(string(((1 + 2)) * 86400) + \"s\")"),
        ("mydays(3) + x.days(2)", "mydays(3) + x.days(2)"),
    ],
)
def test_duration_helpers_become_native_cel(expr, native):
    assert cel_env.native_durations(expr) == native


def test_duration_helpers_match_their_meaning():
    policy = load(
        """\
  - id: within-trial
    condition: request.submitted_at - order.purchased_at <= hours(plan.trial_hours) + days(1)
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
    )
    # 48 hours after purchase: inside 24 h + 1 day, one second later it is not
    inside = facts(order__purchased_at="2025-03-08T12:00:00+08:00")
    outside = facts(order__purchased_at="2025-03-08T11:59:59+08:00")
    assert evaluate(policy, inside).clause == "within-trial"
    assert evaluate(policy, outside).clause == "default"


def test_days_takes_an_int():
    [p] = problems_of(
        policy_text(
            """\
  - id: d
    condition: request.submitted_at - order.purchased_at <= days(usage.days_used)
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "d" and "days" in p.message


def test_amount_functions_are_not_for_conditions():
    [p] = problems_of(
        policy_text(
            """\
  - id: c
    condition: prorate(order.amount, 1, 2) > 0
    outcome: reject
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "c" and "prorate() is for amount expressions only" in p.message


def test_amount_grammar_is_small():
    [p] = problems_of(
        policy_text(
            """\
  - id: t
    condition: "true"
    outcome: approve
    amount: "customer.new ? order.amount : 0"
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "t" and p.line == 10 and "an amount may use" in p.message


def test_amount_with_doubles_is_exact_where_cel_doubles_would_not_be():
    policy = load(
        """\
  - id: exact
    condition: "true"
    outcome: approve
    amount: prorate(order.amount, double(plan.period_days) - usage.days_used, double(plan.period_days))
    explanation: {en: x, zh-Hans: y}
"""
    )
    # 30 - 0.3 = 29.7 exactly (as a double it is 29.700000000000003)
    decision = evaluate(policy, facts(order__amount="1000.00", usage__days_used="0.3"))
    assert decision.refund == Money(99000, "CNY")


def test_memory_stays_flat_over_many_decisions():
    code = (
        "import resource\n"
        "from refunddesk.policies.engine import load_policy, evaluate\n"
        "from tests.policies.helpers import facts\n"
        f"p = load_policy({str(POLICY_DIR / 'subscription-vpn.yaml')!r})\n"
        "f = facts(request__reason='service_outage', outage__longest_hours=80.0, customer__new=True,\n"
        "          order__purchased_at='2025-03-01T00:00:00+08:00')\n"
        "assert evaluate(p, f).clause == 'major-outage'\n"
        "for _ in range(2000): evaluate(p, f)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "for _ in range(50000): evaluate(p, f)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert result.returncode == 0, result.stderr
    grown_kib = int(result.stdout.strip())
    assert grown_kib < 2500, f"resident memory grew by {grown_kib} KiB over 50,000 decisions"

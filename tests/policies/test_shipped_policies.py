"""The two shipped policies (seed 000 and seed 003): their cases pass and reach every clause,
their amounts are exact, and the case runner catches what it should. Pure tests."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refunddesk.core.money import Money
from refunddesk.policies.engine import evaluate
from refunddesk.policies.explain import explain
from refunddesk.policies.testing import (
    Case,
    CasesError,
    cases_path_for,
    load_cases,
    load_cases_text,
    run_cases,
)
from tests.policies.helpers import POLICY_DIR, SHIPPED, facts


@pytest.mark.parametrize("name", SHIPPED)
def test_cases_pass_and_reach_every_clause_and_the_default(shipped, name):
    policy = shipped[name]
    report = run_cases(policy, load_cases(cases_path_for(POLICY_DIR / f"{name}.yaml")))
    assert report.ok, "\n".join(report.failure_lines())
    decided = {r.decision.clause for r in report.results}
    assert decided == set(policy.rule_ids)
    assert report.summary().startswith("OK: ")


@pytest.mark.parametrize("name", SHIPPED)
def test_every_review_case_says_why(name):
    cases = load_cases(POLICY_DIR / f"{name}.cases.yaml")
    reviews = [c for c in cases.cases if c.outcome == "review"]
    assert reviews and all(c.why and c.why.strip() for c in reviews)


@pytest.mark.parametrize("name", SHIPPED)
def test_business_days_from_the_seeds(shipped, name):
    # seed 000: "1-3个工作日内"; seed 003: "within 3 business days" / refunds "within 5 business days"
    assert shipped[name].review_business_days == 3
    assert shipped[name].refund_business_days == 5


@pytest.mark.parametrize("name", SHIPPED)
def test_every_ambiguous_review_clause_explains_itself(shipped, name):
    for clause in shipped[name].clauses:
        if clause.outcome == "review":
            assert clause.note, f"{clause.id} goes to review without a note saying why"


@pytest.mark.parametrize("name", SHIPPED)
def test_each_document_states_how_money_works(name):
    text = (POLICY_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert "minor units" in text.lower() and "half-up" in text


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_explain_covers_every_clause(shipped, name, lang):
    text = explain(shipped[name], lang)
    for clause in shipped[name].clauses:
        assert clause.id in text
        assert clause.summary.get(lang) in text
    assert ("其他情况" if lang == "zh-Hans" else "Otherwise") in text


# --- seed 000 (subscription VPN) -----------------------------------------------------------------


def test_vpn_store_purchases_are_redirected(shipped):
    for channel in ("app_store", "google_play"):
        decision = evaluate(shipped["subscription-vpn"], facts(order__sales_channel=channel))
        assert decision.outcome == "redirect" and decision.refund is None
    assert "Google Play" in decision.explanation.en and "Google Play" in decision.explanation.zh


def test_vpn_major_outage_prorates_exactly(shipped):
    decision = evaluate(
        shipped["subscription-vpn"],
        facts(request__reason="service_outage", outage__longest_hours=72.0, usage__days_used="3"),
    )
    assert decision.clause == "major-outage" and decision.refund == Money(2700, "CNY")
    assert "72" in decision.explanation.en and "72" in decision.explanation.zh


def test_vpn_outage_exception_to_the_window(shipped):
    late = dict(order__purchased_at="2025-02-18T12:00:00+08:00", usage__days_used="20")
    policy = shipped["subscription-vpn"]
    outage = evaluate(policy, facts(request__reason="service_outage", outage__longest_hours=80.0, **late))
    assert outage.clause == "major-outage" and outage.refund == Money(1000, "CNY")  # 10 of 30 days unused
    plain = evaluate(policy, facts(request__reason="technical_issue", support__contacted=True, **late))
    assert plain.clause == "refund-window-passed" and plain.outcome == "reject"
    assert "7" in plain.explanation.en


def test_vpn_unsolved_technical_problem_deducts_the_channel_fee(shipped):
    decision = evaluate(
        shipped["subscription-vpn"], facts(request__reason="technical_issue", support__contacted=True)
    )
    assert decision.refund == Money(2982, "CNY") and "0.18" in decision.explanation.en


# --- seed 003 (standard 14 days) -----------------------------------------------------------------


def test_14_day_full_refund_deducts_nothing(shipped):
    decision = evaluate(
        shipped["standard-14-day"], facts(request__reason="not_satisfied", order__channel_fee="0.59")
    )
    assert decision.clause == "within-14-days-unused" and decision.refund == Money(3000, "CNY")


def test_14_day_special_cases_go_to_a_person(shipped):
    policy = shipped["standard-14-day"]
    assert evaluate(policy, facts(request__reason="emergency")).outcome == "review"
    force = facts(request__reason="service_outage", outage__longest_hours=10.0, outage__force_majeure=True)
    assert evaluate(policy, force).clause == "special-force-majeure"


# --- properties over random facts -----------------------------------------------------------------


@st.composite
def any_facts(draw):
    amount = draw(st.integers(min_value=1, max_value=10**6))
    refunded = draw(st.integers(min_value=0, max_value=amount))
    currency = draw(st.sampled_from(["CNY", "USD", "JPY"]))

    def text(minor: int) -> str:
        return str(minor) if currency == "JPY" else f"{minor // 100}.{minor % 100:02d}"

    return facts(
        request__reason=draw(
            st.sampled_from(["technical_issue", "service_outage", "not_satisfied", "other"])
        ),
        customer__new=draw(st.booleans()),
        customer__tos_violation=draw(st.booleans()),
        order__currency=currency,
        order__amount=text(amount),
        order__refunded=text(refunded),
        order__channel_fee=text(draw(st.integers(min_value=0, max_value=amount))),
        order__sales_channel=draw(st.sampled_from(["web", "app_store", "reseller"])),
        order__promotional=draw(st.booleans()),
        order__refundable=draw(st.booleans()),
        order__purchased_at=draw(st.sampled_from(["2025-03-10T00:00:00+08:00", "2025-02-01T00:00:00Z"])),
        plan__period_days=draw(st.integers(min_value=1, max_value=365)),
        usage__days_used=str(draw(st.decimals(min_value=0, max_value=365, places=1))),
        usage__paid_features_used=draw(st.booleans()),
        usage__quota_used_ratio=draw(st.sampled_from([0.0, 0.5, 1.0])),
        support__contacted=draw(st.booleans()),
        support__resolved=draw(st.booleans()),
        outage__longest_hours=draw(st.sampled_from([0.0, 71.9, 72.0, 200.0])),
        outage__force_majeure=draw(st.booleans()),
        charge__duplicate=draw(st.booleans()),
        charge__erroneous=draw(st.booleans()),
    )


@given(data=any_facts(), name=st.sampled_from(SHIPPED))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_refund_is_never_negative_nor_more_than_refundable(shipped, data, name):
    decision = evaluate(shipped[name], data)
    if decision.outcome == "approve":
        refundable = Decimal(data["order"]["amount"]) - Decimal(data["order"]["refunded"])
        assert 0 <= decision.refund.amount <= refundable
        assert decision.refund.currency == data["order"]["currency"]
    else:
        assert decision.refund is None
    assert decision.trace[-1].matched or decision.clause == "default"
    assert evaluate(shipped[name], data) == decision


# --- the case runner ------------------------------------------------------------------------------


def test_a_clause_no_case_reaches_is_a_failure(shipped):
    policy = shipped["standard-14-day"]
    cases = load_cases(POLICY_DIR / "standard-14-day.cases.yaml")
    fewer = [c for c in cases.cases if c.clause != "partial-usage"]
    report = run_cases(policy, fewer)
    assert not report.ok and report.uncovered == ("partial-usage",)
    assert "FAIL  clause 'partial-usage' is not reached by any case" in report.lines()
    assert "not reached" in report.summary() and report.summary().startswith("FAILED")


def test_a_wrong_expectation_fails_with_a_reason(shipped):
    policy = shipped["subscription-vpn"]
    case = Case(
        name="wrong",
        facts=facts(request__reason="service_outage", outage__longest_hours=72.0),
        outcome="approve",
        clause="major-outage",
        amount=Decimal("30.00"),
    )
    [result] = run_cases(policy, [case]).results
    assert not result.passed and "expected amount 30.00, got 27.00" in result.line()
    assert result.line().startswith("FAIL  wrong:")


def test_an_evaluation_error_fails_the_case(shipped):
    data = facts()
    del data["order"]["amount"]
    case = Case(name="broken", facts=data, outcome="review", clause="default", why="x")
    [result] = run_cases(shipped["subscription-vpn"], [case]).results
    assert not result.passed and "missing fact: 'order.amount'" in result.line()


def test_cases_for_another_policy_are_reported(shipped):
    cases = load_cases(POLICY_DIR / "subscription-vpn.cases.yaml")
    report = run_cases(shipped["standard-14-day"], cases)
    assert "the cases are for policy 'subscription-vpn'" in " ".join(report.problems)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("cases: []\n", "non-empty 'cases'"),
        ("cases:\n  - name: a\n    expect: {outcome: review, clause: default}\n", "must say why"),
        ("cases:\n  - name: a\n    expect: {outcome: approve, clause: x}\n", "needs expect.amount"),
        (
            "cases:\n  - name: a\n    expect: {outcome: reject, clause: x, amount: '1.00'}\n",
            "only for approve",
        ),
        (
            "cases:\n  - name: a\n    facts: {order.amont: '1'}\n    expect: {outcome: reject, clause: x}\n",
            "order.amont",
        ),
        ("cases:\n  - name: a\n    expect: {outcome: refund, clause: x}\n", "expect.outcome"),
        (
            "cases:\n  - name: a\n    expect: {outcome: reject, clause: x}\n  - name: a\n    expect: {outcome: reject, clause: x}\n",
            "used twice",
        ),
    ],
)
def test_bad_cases_files_are_refused_with_the_line(text, words):
    with pytest.raises(CasesError) as err:
        load_cases_text(text, "x.cases.yaml")
    assert words in str(err.value) and "x.cases.yaml" in str(err.value)


def test_cases_path_is_beside_the_policy():
    assert cases_path_for("policies/a.yaml").as_posix() == "policies/a.cases.yaml"
    assert cases_path_for("a.yml").as_posix() == "a.cases.yml"

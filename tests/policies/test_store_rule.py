"""Store purchases are policy data (issue 16 item 4): every policy carries a store rule that is tried before
its clauses, so that an order sold through the App Store or Google Play is redirected by the policy itself,
and `refunddesk policy evaluate` / POST /api/v1/policy/evaluate say what the product does. Pure tests."""

from __future__ import annotations

import pytest

from refunddesk.core.money import Money
from refunddesk.policies.engine import PolicyError, evaluate, load_policy, load_policy_text
from refunddesk.policies.explain import explain
from refunddesk.policies.facts import STORE_CHANNELS
from refunddesk.policies.testing import load_cases, run_cases
from tests.policies.helpers import POLICY_DIR, REPO, SHIPPED, facts, policy_text

APPROVE_ALL = """\
  - id: everything
    condition: "true"
    outcome: approve
    amount: order.amount - order.refunded
    explanation: {en: "{refund} ({computation})", zh-Hans: "{refund}({computation})"}
"""


def problems_of(text: str) -> list:
    with pytest.raises(PolicyError) as err:
        load_policy_text(text, "demo.yaml")
    return list(err.value.problems)


def test_the_14_day_policy_sends_an_app_store_order_to_apple_not_approve_49():
    # issue 16: "the 14-day policy on an App Store order answers approve 49.00"; the product redirects it
    policy = load_policy(POLICY_DIR / "standard-14-day.yaml")
    order = facts(order__sales_channel="app_store", order__amount="49.00", request__reason="not_satisfied")
    decision = evaluate(policy, order)
    assert (decision.outcome, decision.clause, decision.refund) == ("redirect", "store-purchase", None)
    assert "Apple App Store" in decision.explanation.en and "苹果 App Store" in decision.explanation.zh
    assert decision.to_json()["trace"] == [{"clause": "store-purchase", "matched": True}]
    web = evaluate(policy, facts(order__amount="49.00", request__reason="not_satisfied"))
    assert (web.outcome, web.refund) == ("approve", Money(4900, "CNY"))


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("channel", STORE_CHANNELS)
def test_no_store_order_reaches_anything_but_the_store_rule_in_a_shipped_policy(shipped, name, channel):
    policy = shipped[name]
    assert not policy.store_rule_standard and policy.clauses[0] is policy.store_rule
    for changes in (
        {},
        {"customer__new": True, "order__purchased_at": "2025-03-10T11:00:00+08:00"},  # a trial
        {"charge__duplicate": True},
        {"request__reason": "service_outage", "outage__longest_hours": 90.0},
        {"request__reason": "technical_issue", "support__contacted": True},
        {"customer__tos_violation": True},
        {"order__refunded": "30.00"},
    ):
        decision = evaluate(policy, facts(order__sales_channel=channel, **changes))
        assert (decision.outcome, decision.clause) == ("redirect", policy.store_rule.id), changes


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_documents_declare_the_rule_and_their_cases_reach_it(shipped, name):
    text = (POLICY_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert "\nstore_purchases:" in text and "outcome: redirect" not in text
    policy = shipped[name]
    assert policy.version == {"subscription-vpn": 5, "standard-14-day": 4}[name] and policy.warnings == ()
    report = run_cases(policy, load_cases(POLICY_DIR / f"{name}.cases.yaml"))
    assert sum(r.decision.clause == policy.store_rule.id for r in report.results) >= 3
    assert policy.to_dict()["store_purchases"]["id"] == policy.store_rule.id
    assert policy.store_rule.id not in [c["id"] for c in policy.to_dict()["clauses"]]


def test_the_workflow_test_policy_declares_it_too():
    policy = load_policy(REPO / "tests" / "refunds" / "policy.yaml")
    assert not policy.store_rule_standard and policy.store_rule.id == "store-purchase"
    assert evaluate(policy, facts(order__sales_channel="google_play", charge__duplicate=True)).outcome == "redirect"


def test_the_store_rule_comes_before_a_clause_that_approves_everything():
    policy = load_policy_text(policy_text(APPROVE_ALL), "demo.yaml")
    assert evaluate(policy, facts(order__sales_channel="app_store")).outcome == "redirect"
    assert evaluate(policy, facts(order__sales_channel="reseller")).refund == Money(3000, "CNY")
    assert policy.store_rule.condition == "order.sales_channel in ['app_store', 'google_play']"


def test_a_document_without_the_rule_gets_the_standard_one_first_and_a_warning():
    # documents published before store_purchases existed must keep deciding, as the product did for them
    policy = load_policy_text(policy_text(APPROVE_ALL, store=""), "old.yaml")
    assert policy.store_rule_standard and [c.id for c in policy.clauses] == ["store-purchase", "everything"]
    decision = evaluate(policy, facts(order__sales_channel="google_play"))
    assert (decision.outcome, decision.clause) == ("redirect", "store-purchase")
    assert "Google Play" in decision.explanation.en and "Google Play" in decision.explanation.zh
    [warning] = [w for w in policy.warnings if "store_purchases" in w.message]
    assert "no store_purchases: the standard rule 'store-purchase' is applied before every clause" in warning.message
    assert "store_purchases" not in policy.to_dict()
    report = run_cases(policy, [])  # the standard rule is not the document's to test
    assert "store-purchase" not in report.uncovered and "everything" in report.uncovered


def test_the_standard_rule_takes_another_id_when_an_old_clause_has_it():
    old = APPROVE_ALL.replace("id: everything", "id: store-purchase")
    policy = load_policy_text(policy_text(old, store=""), "old.yaml")
    assert [c.id for c in policy.clauses] == ["store-purchase-rule", "store-purchase"]


def test_a_clause_that_redirects_is_refused_naming_the_rule():
    [p] = problems_of(
        policy_text(
            """\
  - id: resellers-elsewhere
    condition: order.sales_channel == 'reseller'
    outcome: redirect
    explanation: {en: x, zh-Hans: y}
"""
        )
    )
    assert p.clause == "resellers-elsewhere" and p.line == 9
    assert "outcome redirect is for store_purchases alone" in p.message


def test_a_redirecting_clause_of_an_old_document_only_warns():
    text = policy_text(
        """\
  - id: app-store-or-google-play
    condition: order.sales_channel in ['app_store', 'google_play']
    outcome: redirect
    explanation: {en: x, zh-Hans: y}
""",
        store="",
    )
    policy = load_policy_text(text, "vpn-v2.yaml")
    assert any("outcome redirect is for store_purchases alone" in w.message for w in policy.warnings)
    assert evaluate(policy, facts(order__sales_channel="app_store")).clause == "store-purchase"


@pytest.mark.parametrize(
    ("store", "words"),
    [
        ("store_purchases:\n  explanation: {en: x, zh-Hans: y}\n", "store_purchases needs an 'id'"),
        ("store_purchases:\n  id: everything\n  explanation: {en: x, zh-Hans: y}\n", "the id 'everything' of a clause"),
        ("store_purchases:\n  id: s\n  outcome: approve\n  explanation: {en: x, zh-Hans: y}\n",
         "unknown key 'outcome': store_purchases always redirects"),
        ("store_purchases:\n  id: s\n  condition: 'true'\n  explanation: {en: x, zh-Hans: y}\n", "unknown key 'condition'"),
        ("store_purchases:\n  id: s\n", "'explanation' is missing"),
        ("store_purchases:\n  id: s\n  explanation: {en: '{refund}', zh-Hans: y}\n",
         "{refund} can only be quoted by an approve outcome"),
        ("store_purchases: [app_store]\n", "store_purchases"),
    ],
)
def test_a_bad_store_rule_is_refused_with_its_line(store, words):
    problems = problems_of(policy_text(APPROVE_ALL, store=store))
    assert any(words in p.message for p in problems), [p.message for p in problems]
    assert all(p.line for p in problems)


def test_explain_says_the_store_rule_comes_first(shipped):
    text = explain(shipped["subscription-vpn"], "en")
    assert "The first, app-store-or-google-play, is the rule for store purchases" in text
    assert "1. app-store-or-google-play → redirect" in text
    assert "第一条 app-store-or-google-play 是商店购买规则" in explain(shipped["subscription-vpn"], "zh-Hans")

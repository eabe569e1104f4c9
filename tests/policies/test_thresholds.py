"""Policy.thresholds: the numbers clauses compare a fact against, read from the conditions' syntax trees
as CEL parsed them (never a regex over their text). Pure tests."""

from __future__ import annotations

import pytest

from refunddesk.policies.cel_env import make_env
from refunddesk.policies.cel_tree import Call, Ident, ListOf, Literal, comparisons, syntax_tree
from refunddesk.policies.engine import load_policy_text
from tests.policies.helpers import policy_text

HOURS = "outage.longest_hours"


def policy(*conditions: str, outcome: str = "approve"):
    clauses = "".join(
        f"""\
  - id: c{i}
    condition: "{condition}"
    outcome: {outcome}
    {"amount: order.amount - order.refunded" if outcome == "approve" else ""}
    explanation: {{en: x, zh-Hans: y}}
"""
        for i, condition in enumerate(conditions)
    )
    return load_policy_text(policy_text(clauses), "t.yaml")


@pytest.mark.parametrize(
    "condition",
    [
        "outage.longest_hours >= 72.0",
        "72.0 <= outage.longest_hours",
        "outage.longest_hours >= 72.0 && !outage.force_majeure",
        "request.reason == 'service_outage' && (outage.longest_hours >= 72.0 || customer.new)",
        "!(outage.longest_hours < 72.0)",
        "outage.longest_hours >= double(72)",
        "outage.longest_hours   >=\\n 72.0",
    ],
)
def test_each_way_of_writing_it_gives_72(condition):
    assert policy(condition).thresholds(HOURS, outcome="approve") == (72.0,)


def test_strict_bounds_and_several_clauses():
    p = policy("outage.longest_hours > 48.0 && customer.new", "outage.longest_hours >= 72.0", "24.0 < outage.longest_hours")
    assert p.thresholds(HOURS, outcome="approve") == (24.0, 48.0, 72.0)


def test_only_clauses_with_the_outcome_asked_for():
    rejecting = policy("outage.longest_hours >= 10.0", outcome="reject")
    assert rejecting.thresholds(HOURS, outcome="approve") == ()
    assert rejecting.thresholds(HOURS, outcome="reject") == (10.0,) == rejecting.thresholds(HOURS)


def test_upper_bounds_and_equality_are_not_lower_bounds():
    p = policy("outage.longest_hours < 5.0", "outage.longest_hours <= 6.0", "outage.longest_hours == 7.0",
               "!(outage.longest_hours >= 8.0)")
    assert p.thresholds(HOURS, outcome="approve") == ()
    assert p.thresholds(HOURS, outcome="approve", bound="upper") == (5.0, 6.0, 8.0)
    assert p.thresholds(HOURS, outcome="approve", bound="any") == (5.0, 6.0, 7.0, 8.0)
    with pytest.raises(KeyError):
        p.thresholds(HOURS, bound="sideways")


def test_text_that_only_looks_like_a_comparison_is_not_one():
    # a regex over the text finds 72 in the string and 99 in the comparison with another fact
    p = policy(
        "customer.region != 'outage.longest_hours >= 72' && outage.longest_hours >= double(plan.period_days) * 24.0",
        "customer.refunds_last_year >= 99 && outage.longest_hours >= 1.5",
    )
    assert p.thresholds(HOURS, outcome="approve") == (1.5,)
    assert p.thresholds("customer.refunds_last_year", outcome="approve") == (99,)


def test_the_shipped_vpn_policy_refunds_outages_from_72_hours(shipped):
    assert shipped["subscription-vpn"].thresholds(HOURS, outcome="approve") == (72.0,)
    assert shipped["standard-14-day"].thresholds(HOURS, outcome="approve") == ()
    assert shipped["standard-14-day"].thresholds(HOURS, outcome="review") == (0.0,)


def test_the_syntax_tree_is_cels_own():
    tree = syntax_tree(make_env("condition").compile("72.0 <= outage.longest_hours && order.sales_channel in ['web']"))
    assert tree == Call("_&&_", (
        Call("_<=_", (Literal(72.0), Ident(HOURS))),
        Call("@in", (Ident("order.sales_channel"), ListOf((Literal("web"),)))),
    ))
    negative = syntax_tree(make_env("condition").compile("customer.refunds_last_year > -3 && plan.id == 'a\\u00e9'"))
    assert comparisons(negative, "customer.refunds_last_year") == [(">", -3)]
    assert Literal("aé") in negative.args[1].args

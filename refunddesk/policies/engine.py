"""The policy engine: a refund policy document -> a compiled `Policy` -> `evaluate` -> `Decision`.

    from refunddesk.policies.engine import load_policy, evaluate
    policy = load_policy("policies/subscription-vpn.yaml")   # compile once (PolicyError if invalid)
    decision = evaluate(policy, facts)                        # evaluate many times

Pure: no Django (tests/policies/test_engine.py checks it). This module only gathers the public
names; each job has its own module, to be read in this order:

    facts.py        the facts contract v1: names, kinds, vocabularies; converting JSON-style facts
                    (reference_convert), showing facts to people
    fast_facts.py   the generated per-policy fact converter (speed), held equal to the reference
    yaml_lines.py   YAML with line numbers, so that every problem names its line
    errors.py       Problem and PolicyError
    cel_env.py      the CEL environments conditions are checked and run in; days()/hours()
    schema.py       the document format, its validation, and compiling it into a Policy
    policy.py       what a compiled policy is: Policy, Clause, Rule, Text; thresholds()
    cel_tree.py     the syntax tree of a compiled CEL condition (what thresholds() reads)
    amounts.py      the exact amount programs (prorate, percent...), the cap and the no-negative rule
    templates.py    explanation templates and their placeholders
    computation.py  the `{computation}` placeholder: the amount expression with the real figures
    money_text.py   the one money formatter (CLDR, as Babel writes it; "27.00 CNY" in traces)
    evaluation.py   evaluate(): facts -> the first matching clause -> Decision with its trace
"""

from __future__ import annotations

from refunddesk.policies.errors import PolicyError, Problem
from refunddesk.policies.evaluation import Decision, TraceStep, evaluate
from refunddesk.policies.facts import EvaluationError, FactError
from refunddesk.policies.policy import OUTCOMES, Clause, Policy, Rule, Text
from refunddesk.policies.schema import load_policy, load_policy_text

__all__ = [
    "OUTCOMES",
    "Clause",
    "Decision",
    "EvaluationError",
    "FactError",
    "Policy",
    "PolicyError",
    "Problem",
    "Rule",
    "Text",
    "TraceStep",
    "evaluate",
    "load_policy",
    "load_policy_text",
]

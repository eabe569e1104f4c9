"""The effective outcome: what refunddesk does with a policy's decision. Pure: no Django.

Submission, outage compensation, the portal's previews, `POST /api/v1/policy/evaluate` and
`refunddesk policy evaluate` all answer with this one rule (docs/architecture.md, policy facts: "The outcome is the
*effective* one: exactly what submission would do with these facts"):

* an order sold through an app store goes to that store (seed 000 FAQ Q2: "需要直接向相应平台提交退款申请"):
  the policy's own store rule decides it (policies/schema.py `store_purchases`, tried before any clause), so
  the engine already answers redirect;
* a redirect of an order no store sold cannot be sent anywhere (only a document older than the store rule
  could say so): a person decides (review);
* an approval of nothing (the amount computed to 0) is not a refund: a person decides (review);
* otherwise the policy's own outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from refunddesk.core.money import Money
from refunddesk.core.vocabulary import STORE_CHANNELS


def effective_outcome(*, outcome: str, amount_minor: int | None, sales_channel: str) -> str:
    """approve / reject / review / redirect: what happens to a request the policy decided `outcome` for,
    with refund `amount_minor` (minor units; None when not approving) on an order sold through
    `sales_channel`."""
    if outcome == "redirect" and sales_channel not in STORE_CHANNELS:
        return "review"
    if outcome == "approve" and (amount_minor is None or amount_minor <= 0):
        return "review"
    return outcome


def effective_json(decision: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """A decision's JSON (engine Decision.to_json) with `outcome` made the effective one for these facts
    (nested or dotted names); the policy's own outcome is kept as `policy_outcome` when they differ."""
    order = facts.get("order") if isinstance(facts.get("order"), Mapping) else {}
    channel = order.get("sales_channel", facts.get("order.sales_channel", ""))
    refund = decision.get("refund")
    amount_minor = None
    if refund is not None:
        amount_minor = Money.from_decimal(refund["amount"], refund["currency"]).minor
    effective = effective_outcome(outcome=decision["outcome"], amount_minor=amount_minor, sales_channel=str(channel))
    if effective == decision["outcome"]:
        return dict(decision)
    return {**decision, "outcome": effective, "policy_outcome": decision["outcome"]}

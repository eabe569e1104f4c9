from __future__ import annotations

import copy
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
POLICY_DIR = REPO / "policies"
SHIPPED = ["subscription-vpn", "standard-14-day"]

# A complete fact set (contract v1), nested like the JSON the refunds app sends.
BASE_FACTS = {
    "now": "2025-03-10T12:00:00+08:00",
    "request": {"reason": "other", "submitted_at": "2025-03-10T12:00:00+08:00"},
    "customer": {"region": "cn-east", "new": False, "tos_violation": False, "refunds_last_year": 0,
                 "refunded_share": 0.0},
    "order": {
        "id": "ORD-1",
        "currency": "CNY",
        "amount": "30.00",
        "refunded": "0.00",
        "purchased_at": "2025-03-05T10:00:00+08:00",
        "sales_channel": "web",
        "payment_method": "alipay",
        "promotional": False,
        "refundable": True,
        "channel_fee": "0.18",
    },
    "plan": {"id": "vpn-monthly", "period_days": 30, "refund_window_days": 7, "trial_hours": 24},
    "usage": {"days_used": "3", "paid_features_used": False, "quota_used_ratio": 0.0,
              "since_request_days": "0", "since_request_quota_ratio": 0.0},
    "support": {"contacted": False, "resolved": False},
    "outage": {"longest_hours": 0.0, "force_majeure": False},
    "charge": {"duplicate": False, "erroneous": False},
}


def facts(**changes) -> dict:
    """BASE_FACTS with changes given as order__amount="10.00" (double underscore for the dot)."""
    out = copy.deepcopy(BASE_FACTS)
    for key, value in changes.items():
        if "__" in key:
            head, tail = key.split("__", 1)
            out[head][tail] = value
        else:
            out[key] = value
    return out


HEADER = """\
id: demo
version: 1
title: {en: Demo, zh-Hans: 演示}
review_business_days: 3
refund_business_days: 5
"""


# The store rule every policy has (tried before its clauses); written last, so that the lines of the
# clauses stay where the tests expect them.
STORE = """\
store_purchases:
  id: store-purchase
  explanation: {en: "Ask {order.sales_channel}.", zh-Hans: "请向{order.sales_channel}申请。"}
"""


def policy_text(clauses: str, default: str | None = None, *, store: str = STORE) -> str:
    """A small policy document around the given clauses (YAML, indented as list items), with `store` as
    its store rule (give "" for a document without one)."""
    if default is None:
        default = "default:\n  outcome: review\n  explanation: {en: A person decides., zh-Hans: 人工审核。}\n"
    return HEADER + "clauses:\n" + textwrap.dedent(clauses) + default + store

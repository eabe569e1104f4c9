"""The fixed vocabularies of the facts contract (docs/architecture.md, "Policy facts (contract v1)"):
the values of `request.reason`, `order.sales_channel` and `order.payment_method`, and which sales channels
are app stores.

Declared once, here in core and in plain Python (no Django), because apps on every floor need them: the
policy engine's contract (policies.facts re-exports them), the Django choices of billing and refunds
(built from them with `text_choices`), the gateways and refund execution. `tests/core/test_vocabulary.py`
holds every Django choice list equal to these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

REASONS: tuple[str, ...] = (
    "technical_issue",
    "service_outage",
    "not_satisfied",
    "duplicate_charge",
    "wrong_charge",
    "changed_mind",
    "emergency",
    "other",
)
SALES_CHANNELS: tuple[str, ...] = ("web", "app_store", "google_play", "reseller")
PAYMENT_METHODS: tuple[str, ...] = ("card", "alipay", "wechat_pay", "paypal", "bank_transfer", "other")
#: The sales channels whose purchases only the store that sold them can refund (seed 000 FAQ Q2). They are
#: also the gateway ids of such orders (Order.gateway): refunddesk records their refunds, never makes them.
STORE_CHANNELS: tuple[str, ...] = ("app_store", "google_play")


def text_choices(name: str, values: Sequence[str], labels: Mapping[str, Any]) -> Any:
    """A Django TextChoices class `name` with exactly `values` (in that order), each with its label from
    `labels` (lazy translations). Raises ValueError at import when the labels name other values than the
    vocabulary, so the two can never drift."""
    from django.db import models

    if set(labels) != set(values) or len(labels) != len(values):
        raise ValueError(f"{name}: labels for {sorted(labels)} but the vocabulary is {list(values)}")
    return models.TextChoices(name, [(value.upper(), (value, labels[value])) for value in values])

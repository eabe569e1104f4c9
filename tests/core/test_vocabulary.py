"""One vocabulary (issue 16.5): the facts contract's enumerations are declared once (core.vocabulary) and
every Django choice list, the policy engine's contract and the gateways use exactly those values."""

from __future__ import annotations

import pytest

from refunddesk.billing.models import Order, PaymentMethod, SalesChannel
from refunddesk.core import vocabulary
from refunddesk.payments.gateways.registry import STORE_CHANNELS as GATEWAY_STORES
from refunddesk.policies.facts import CHOICE_LABELS, FACTS
from refunddesk.refunds.intake import STORE_INSTRUCTIONS
from refunddesk.refunds.models import Reason, RefundRequest


def test_the_django_choices_are_the_contracts_vocabularies_in_order():
    assert tuple(SalesChannel.values) == vocabulary.SALES_CHANNELS == FACTS["order.sales_channel"].choices
    assert tuple(PaymentMethod.values) == vocabulary.PAYMENT_METHODS == FACTS["order.payment_method"].choices
    assert tuple(Reason.values) == vocabulary.REASONS == FACTS["request.reason"].choices
    assert [c for c, _ in Order._meta.get_field("sales_channel").choices] == list(vocabulary.SALES_CHANNELS)
    assert [c for c, _ in RefundRequest._meta.get_field("reason").choices] == list(vocabulary.REASONS)


def test_every_value_has_its_words_for_people():
    for name, values in (("order.sales_channel", vocabulary.SALES_CHANNELS),
                         ("order.payment_method", vocabulary.PAYMENT_METHODS),
                         ("request.reason", vocabulary.REASONS)):
        assert tuple(CHOICE_LABELS[name]) == values


def test_the_store_channels_are_declared_once():
    assert set(vocabulary.STORE_CHANNELS) <= set(vocabulary.SALES_CHANNELS)
    assert tuple(GATEWAY_STORES) == vocabulary.STORE_CHANNELS == tuple(STORE_INSTRUCTIONS)


def test_labels_that_drift_from_the_vocabulary_are_refused_at_import():
    with pytest.raises(ValueError, match="vocabulary"):
        vocabulary.text_choices("Broken", ("a", "b"), {"a": "A"})

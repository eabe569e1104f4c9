"""Issue 13 item 8, end to end: a refund decided after an earlier partial refund is computed on what is still
refundable, and the customer is told how (request, timeline, email), in their language.

The earlier refund is a real one: a request a person approved for 10.00, paid by the sandbox gateway."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from refunddesk.payments.models import Refund
from refunddesk.refunds import services as s
from refunddesk.refunds.states import Status
from tests.factories import CustomerFactory, OrderFactory, SupportContactFactory, UsageFactory, UserFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db

VPN_POLICY = Path(__file__).resolve().parents[2] / "policies" / "subscription-vpn.yaml"


@pytest.fixture
def vpn_policy(db):
    from refunddesk.policies.services import policy_publish

    return policy_publish(
        document=VPN_POLICY.read_text(encoding="utf-8"),
        cases=VPN_POLICY.with_name("subscription-vpn.cases.yaml").read_text(encoding="utf-8"),
        effective_at=timezone.now() - dt.timedelta(days=800),
    )


def partly_refunded(customer, agent, *, amount: str):
    """A 30.00 CNY order (0.18 channel fee) of which a person already refunded `amount`: a request the policy
    sends to review, approved for that amount, paid by the sandbox."""
    order = OrderFactory(customer=customer, amount_minor=3000, channel_fee_minor=18)
    UsageFactory(order=order)
    first = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="other")
    assert first.status == Status.IN_REVIEW
    s.refund_request_approve(public_id=first.public_id, user=agent, amount=amount, reason="Part of it, agreed",
                             clause="default")
    run_tasks()
    order.refresh_from_db()
    assert order.refunded_minor == 1000 and Refund.objects.get(request=first).amount_minor == 1000
    mail.outbox.clear()
    return order


@pytest.mark.parametrize(
    ("language", "told"),
    [
        ("en", "CN¥19.82 (CN¥30.00 paid − CN¥10.00 already refunded − CN¥0.18 payment channel fee)"),
        ("zh-hans", "¥19.82（支付金额 ¥30.00 − 已退款 ¥10.00 − 支付通道手续费 ¥0.18）"),
    ],
)
def test_vpn_technical_problem_after_10_refunded_pays_19_82_and_says_how(vpn_policy, agent, language, told):
    customer = CustomerFactory(user=UserFactory(), language=language)
    order = partly_refunded(customer, agent, amount="10.00")
    SupportContactFactory(customer=customer, order=order, resolved=False)

    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")

    assert req.policy_clause == "technical-problem-unsolved" and req.policy_outcome == "approve"
    assert req.policy_amount_minor == req.approved_amount_minor == 1982  # was 2000: the fee lost in the cap
    assert req.status == Status.REFUNDING
    assert told in req.explanation(language)
    assert "CN¥30.00 paid − CN¥10.00 already refunded − CN¥0.18 payment channel fee" in req.policy_explanation["en"]
    assert "支付金额 ¥30.00 − 已退款 ¥10.00 − 支付通道手续费 ¥0.18" in req.policy_explanation["zh"]
    assert told in req.timeline.get(action="policy_approve").note

    run_tasks()
    req.refresh_from_db()
    order.refresh_from_db()
    assert req.status == Status.REFUNDED
    assert order.refunded_minor == 2982  # 30.00 paid - 0.18 fee, in two refunds
    assert sorted(Refund.objects.filter(order=order).values_list("amount_minor", flat=True)) == [1000, 1982]
    decided = [m for m in mail.outbox if req.public_id in m.subject and m.to == [customer.email]]
    assert any(told in m.body for m in decided), [m.body for m in decided]


def test_a_duplicate_charge_after_a_partial_refund_refunds_the_rest_and_says_so(published_policy, customer, agent):
    # the test policy's duplicate-charge clause: "in full" is what is still refundable, and shown
    order = partly_refunded(customer, agent, amount="10.00")
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="duplicate_charge")
    assert req.policy_clause == "duplicate-charge" and req.approved_amount_minor == 2000
    assert req.explanation("en") == "Charged twice: we refund it in full, CN¥20.00 (CN¥30.00 paid − CN¥10.00 already refunded)."
    assert req.explanation("zh-hans") == "重复扣款：全额退还 ¥20.00（支付金额 ¥30.00 − 已退款 ¥10.00）。"
    run_tasks()
    order.refresh_from_db()
    assert order.refunded_minor == 3000

"""The refund request's life: every allowed move, every illegal one refused, the timeline, overrides."""

from __future__ import annotations

import pytest
from django.core import mail

from refunddesk.core.errors import IllegalTransition, PermissionDenied, ValidationError
from refunddesk.payments.models import Refund
from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest, TimelineEvent
from refunddesk.refunds.states import MOVES, Actor, Status, actions_available, move_for
from tests.factories import OrderFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


def submit(customer, order, reason="technical_issue", **kw):
    return s.refund_request_submit(customer=customer, order_number=order.external_id, reason=reason, **kw)


def statuses(req):
    return [(e.from_status, e.to_status) for e in req.timeline.exclude(from_status="", to_status=Status.SUBMITTED)
            if e.from_status != e.to_status]


@pytest.fixture
def in_review(published_policy, customer, order):
    req = submit(customer, order, description="VPN drops every few minutes")
    assert req.status == Status.IN_REVIEW
    return req


# --- the policy decides at submission -------------------------------------------------


def test_policy_reviews_and_emails_the_due_date(in_review):
    assert in_review.policy_outcome == "review" and in_review.policy_clause == "default"
    assert in_review.review_due_at is not None
    assert in_review.policy_version.policy_id == "workflow-test"
    run_tasks()
    assert len(mail.outbox) == 1
    assert "received" in mail.outbox[0].subject and in_review.public_id in mail.outbox[0].subject


def test_policy_approves_and_the_sandbox_pays_it(published_policy, customer, order):
    req = submit(customer, order, reason="duplicate_charge")
    assert req.status == Status.REFUNDING  # approved, then handed to the gateway in the same transaction
    assert [e.action for e in req.timeline.all()] == ["submit", "policy_approve", "refund_start"]
    run_tasks()
    req.refresh_from_db()
    assert req.status == Status.REFUNDED
    order.refresh_from_db()
    assert order.refunded_minor == 3000 and order.service_ended_at is not None
    subjects = [m.subject for m in mail.outbox]
    assert any("approved" in x for x in subjects) and any("on its way" in x for x in subjects)


def test_policy_rejects_citing_its_clause(published_policy, customer, order):
    req = submit(customer, order, reason="changed_mind")
    assert req.status == Status.REJECTED
    event = req.timeline.get(action="policy_reject")
    assert event.clause == "changed-mind" and "Changing your mind" in event.note


def test_store_purchase_is_redirected_with_instructions(published_policy, customer):
    order = OrderFactory(customer=customer, sales_channel="app_store", gateway="app_store")
    req = submit(customer, order)
    assert req.status == Status.REDIRECTED
    assert "reportaproblem.apple.com" in req.redirect_instructions["en"]
    run_tasks()
    assert "reportaproblem.apple.com" in mail.outbox[0].body


# --- agents and customers -----------------------------------------------------------------


def test_ask_info_reply_offer_accept_refunds(in_review, agent, customer):
    s.refund_request_ask_info(public_id=in_review.public_id, user=agent, message="Send a screenshot of the error")
    s.refund_request_reply(customer=customer, public_id=in_review.public_id, message="Here it is",
                           files=[s.Upload("shot.png", PNG)])
    s.refund_request_offer(public_id=in_review.public_id, user=agent, amount="12.50", clause="default",
                           note="Half of the unused period")
    req = s.refund_request_accept_offer(customer=customer, public_id=in_review.public_id)
    assert req.status == Status.REFUNDING and req.approved_amount_minor == 1250
    run_tasks()
    req.refresh_from_db()
    assert req.status == Status.REFUNDED
    assert statuses(req) == [
        ("submitted", "in_review"), ("in_review", "waiting_for_customer"), ("waiting_for_customer", "in_review"),
        ("in_review", "offered"), ("offered", "accepted"), ("accepted", "refunding"), ("refunding", "refunded"),
    ]
    assert req.evidence.count() == 1
    assert Refund.objects.get().amount_minor == 1250


def test_declined_offer_goes_back_to_the_agent(in_review, agent, customer):
    s.refund_request_offer(public_id=in_review.public_id, user=agent, amount="10.00", clause="default")
    s.refund_request_decline_offer(customer=customer, public_id=in_review.public_id, note="Too little")
    req = s.refund_request_approve(public_id=in_review.public_id, user=agent, amount="30.00", reason="Fair",
                                   clause="default")
    assert req.status == Status.REFUNDING


def test_reject_appeal_supervisor_upholds(in_review, agent, supervisor, customer):
    s.refund_request_reject(public_id=in_review.public_id, user=agent, reason="Works on our side", clause="default")
    s.refund_request_appeal(customer=customer, public_id=in_review.public_id, reason="It really does not work")
    req = s.refund_request_decide_appeal(public_id=in_review.public_id, user=supervisor, uphold=True,
                                         reason="Logs confirm the outage", clause="default")
    assert req.status == Status.REFUNDING and req.decided_by == supervisor


def test_appeal_rejected_is_final(in_review, agent, supervisor, customer):
    s.refund_request_reject(public_id=in_review.public_id, user=agent, reason="No fault found", clause="default")
    s.refund_request_appeal(customer=customer, public_id=in_review.public_id, reason="Please look again")
    req = s.refund_request_decide_appeal(public_id=in_review.public_id, user=supervisor, uphold=False,
                                         reason="Confirmed", clause="default")
    assert req.status == Status.REJECTED_FINAL
    with pytest.raises(IllegalTransition):
        s.refund_request_appeal(customer=customer, public_id=req.public_id, reason="again")


def test_a_supervisor_cannot_decide_an_appeal_against_their_own_decision(in_review, supervisor, supervisor2,
                                                                       customer):
    s.refund_request_reject(public_id=in_review.public_id, user=supervisor, reason="No", clause="default")
    s.refund_request_appeal(customer=customer, public_id=in_review.public_id, reason="Unfair")
    with pytest.raises(PermissionDenied, match="another supervisor"):
        s.refund_request_decide_appeal(public_id=in_review.public_id, user=supervisor, uphold=True, reason="x",
                                       clause="default")
    assert RefundRequest.objects.get().status == Status.APPEALED
    req = s.refund_request_decide_appeal(public_id=in_review.public_id, user=supervisor2, uphold=False,
                                         reason="Fine", clause="default")
    assert req.status == Status.REJECTED_FINAL


def test_an_agent_cannot_decide_appeals(in_review, agent, agent2, customer):
    s.refund_request_reject(public_id=in_review.public_id, user=agent, reason="No", clause="default")
    s.refund_request_appeal(customer=customer, public_id=in_review.public_id, reason="Unfair")
    with pytest.raises(PermissionDenied):
        s.refund_request_decide_appeal(public_id=in_review.public_id, user=agent2, uphold=True, reason="x",
                                       clause="default")


def test_withdraw_from_every_open_state(published_policy, customer, agent):
    for setup in ("in_review", "waiting", "offered", "declined", "rejected", "appealed"):
        order = OrderFactory(customer=customer)
        req = submit(customer, order)
        pid = req.public_id
        if setup == "waiting":
            s.refund_request_ask_info(public_id=pid, user=agent, message="?")
        if setup in ("offered", "declined"):
            s.refund_request_offer(public_id=pid, user=agent, amount="1.00", clause="default")
        if setup == "declined":
            s.refund_request_decline_offer(customer=customer, public_id=pid)
        if setup in ("rejected", "appealed"):
            s.refund_request_reject(public_id=pid, user=agent, reason="no", clause="default")
        if setup == "appealed":
            s.refund_request_appeal(customer=customer, public_id=pid, reason="please")
        assert s.refund_request_withdraw(customer=customer, public_id=pid).status == Status.WITHDRAWN


# --- overrides -----------------------------------------------------------------------------


def test_approving_against_the_policy_needs_a_written_reason(published_policy, customer, order, supervisor, agent):
    req = submit(customer, order, reason="changed_mind")  # the policy rejected it
    s.refund_request_appeal(customer=customer, public_id=req.public_id, reason="I had an emergency")
    with pytest.raises(ValidationError) as err:
        s.refund_request_decide_appeal(public_id=req.public_id, user=supervisor, uphold=True, reason="ok",
                                       clause="changed-mind")
    assert err.value.field == "override_reason"
    assert RefundRequest.objects.get().status == Status.APPEALED  # nothing changed
    req = s.refund_request_decide_appeal(public_id=req.public_id, user=supervisor, uphold=True, reason="ok",
                                         clause="changed-mind", override_reason="Hospital stay, documented")
    assert req.override
    event = req.timeline.get(action="appeal_approve")
    assert event.override and event.data["override_reason"] == "Hospital stay, documented"


def test_offering_more_than_the_policy_amount_is_an_override(published_policy, customer, agent):
    order = OrderFactory(customer=customer)
    req = submit(customer, order)
    RefundRequest.objects.filter(pk=req.pk).update(policy_amount_minor=1000)  # as if the policy proposed 10.00
    with pytest.raises(ValidationError):
        s.refund_request_offer(public_id=req.public_id, user=agent, amount="20.00", clause="default")
    req = s.refund_request_offer(public_id=req.public_id, user=agent, amount="20.00", clause="default",
                                 override_reason="Loyal customer")
    assert req.override and req.timeline.get(action="offer").override


def test_amounts_above_what_is_left_are_refused(in_review, agent):
    with pytest.raises(ValidationError, match="more than is still refundable"):
        s.refund_request_approve(public_id=in_review.public_id, user=agent, amount="30.01", reason="x",
                                 clause="default")


def test_a_decision_needs_a_reason_and_a_real_clause(in_review, agent):
    with pytest.raises(ValidationError) as err:
        s.refund_request_reject(public_id=in_review.public_id, user=agent, reason="", clause="default")
    assert err.value.field == "reason"
    with pytest.raises(ValidationError) as err:
        s.refund_request_reject(public_id=in_review.public_id, user=agent, reason="x", clause="no-such-clause")
    assert err.value.field == "clause"
    assert RefundRequest.objects.get().status == Status.IN_REVIEW


def test_customers_cannot_act_as_staff(in_review, customer):
    with pytest.raises(PermissionDenied):
        s.refund_request_approve(public_id=in_review.public_id, user=customer.user, reason="x", clause="default")


# --- the state machine table itself -----------------------------------------------------


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.action)
def test_every_move_is_refused_from_every_other_state(move):
    for status in Status.values:
        actor = next(iter(move.actors))
        if status in move.sources:
            assert move_for(move.action, status, actor).target == move.target
        else:
            with pytest.raises(IllegalTransition):
                move_for(move.action, status, actor)


def test_moves_are_refused_to_the_wrong_actor():
    with pytest.raises(IllegalTransition):
        move_for("approve", Status.IN_REVIEW, Actor.CUSTOMER)
    with pytest.raises(IllegalTransition):
        move_for("appeal_approve", Status.APPEALED, Actor.AGENT)


def test_closed_states_allow_nothing_for_customers_or_agents():
    for status in (Status.WITHDRAWN, Status.REDIRECTED, Status.REJECTED_FINAL, Status.REFUNDED):
        for actor in (Actor.CUSTOMER, Actor.AGENT, Actor.SUPERVISOR):
            assert actions_available(status, actor) == []


def test_illegal_moves_through_the_services_change_nothing(in_review, customer, agent):
    with pytest.raises(IllegalTransition, match="In review"):
        s.refund_request_accept_offer(customer=customer, public_id=in_review.public_id)
    with pytest.raises(IllegalTransition):
        s.refund_request_appeal(customer=customer, public_id=in_review.public_id, reason="x")
    with pytest.raises(IllegalTransition):
        s.refund_request_reply(customer=customer, public_id=in_review.public_id, message="hello")
    assert RefundRequest.objects.get().status == Status.IN_REVIEW
    assert TimelineEvent.objects.count() == 2


def test_the_timeline_is_append_only(in_review):
    from refunddesk.refunds.models import AppendOnlyError

    event = in_review.timeline.first()
    event.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_mediation_is_recorded(in_review, agent, supervisor, customer):
    s.refund_request_reject(public_id=in_review.public_id, user=agent, reason="No", clause="default")
    s.refund_request_appeal(customer=customer, public_id=in_review.public_id, reason="Unfair")
    s.refund_request_decide_appeal(public_id=in_review.public_id, user=supervisor, uphold=False, reason="No",
                                   clause="default")
    m = s.mediation_record(public_id=in_review.public_id, user=supervisor, mediator="12315 consumer hotline",
                           outcome="Customer accepted the decision")
    assert m.request.timeline.filter(action="mediation").exists()


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82")


def test_the_decision_made_at_submission_is_never_rewritten(in_review, agent):
    """Later moves save the request, but what the policy decided (facts, trace, version) stays as made."""
    stored = RefundRequest.objects.get(pk=in_review.pk)
    in_review.facts = {"tampered": True}
    in_review.policy_clause = "something-else"
    in_review.save()
    s.refund_request_reject(public_id=in_review.public_id, user=agent, reason="Not covered", clause="default")
    after = RefundRequest.objects.get(pk=in_review.pk)
    assert after.status == Status.REJECTED
    assert (after.facts, after.policy_clause, after.policy_trace, after.policy_version_id) == (
        stored.facts, stored.policy_clause, stored.policy_trace, stored.policy_version_id)

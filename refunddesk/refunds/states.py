"""The one state machine of a refund request: a single table of allowed moves.

Each move is (action, from-states, to-state, who may make it). `move_for()` finds the
move or raises IllegalTransition with a message that says what *is* possible.

One open request per order (OPEN; a unique constraint in the database). A rejected request is open while it
may be appealed, so that the same order is not applied for again meanwhile; it stops holding its order
(`holds_order`) at once when the rejecting clause lets the customer apply again (the policy's `reapply`: "contact
support first, then apply again"), or once its appeal window has passed (settings.REFUNDDESK_APPEAL_BUSINESS_DAYS
business days after the rejection: `RefundRequest.appeal_due_at`). Applying again then closes it by the move
`reapply` (rejected -> superseded) in the transaction that creates the new request (refunds.intake).

A request waiting for the customer (a question: waiting_for_customer; an offer: offered) does not wait forever: the
deciding policy's `no_answer` says after how many business days the customer is reminded and then what happens
(refunds.services.no_answer_run, a periodic job of the worker): closed (unanswered), back to the agent (review,
decline) or the offer taken (accept); the moves are `no_answer_*`, made by the System.

Status labels are staff's words (`Status.label`); the customer reads some states in their own words
(CUSTOMER_LABELS, `status_label(status, customer=True)`): "Waiting for your reply", not "Waiting for the customer".
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from refunddesk.core.errors import IllegalTransition


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    WAITING_FOR_CUSTOMER = "waiting_for_customer", _("Waiting for the customer")
    OFFERED = "offered", _("Offer made")
    ACCEPTED = "accepted", _("Offer accepted")
    DECLINED = "declined", _("Offer declined")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REDIRECTED = "redirected", _("Sent to the store")
    APPEALED = "appealed", _("Appealed")
    REJECTED_FINAL = "rejected_final", _("Rejected (final)")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    REFUNDING = "refunding", _("Refund in progress")
    REFUNDED = "refunded", _("Refunded")
    REFUND_FAILED = "refund_failed", _("Refund failed")
    SUPERSEDED = "superseded", _("Closed: the customer applied again")
    UNANSWERED = "unanswered", _("Closed: the customer did not answer")


#: How the customer reads the states whose staff wording speaks of "the customer" (status_label).
CUSTOMER_LABELS = {
    Status.WAITING_FOR_CUSTOMER: _("Waiting for your reply"),
    Status.SUPERSEDED: _("Closed: you applied again"),
    Status.UNANSWERED: _("Closed: you did not answer"),
}


def status_label(status: str, *, customer: bool = False) -> str:
    """A status in words: staff's (`Status.label`), or the customer's own where they differ (CUSTOMER_LABELS).
    An unknown status is returned as it is."""
    if customer and status in CUSTOMER_LABELS:
        return str(CUSTOMER_LABELS[status])
    try:
        return str(Status(status).label)
    except ValueError:
        return str(status)


class Actor(models.TextChoices):
    POLICY = "policy", _("Policy")
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    FINANCE = "finance", _("Finance")
    SYSTEM = "system", _("System")


S = Status
A = Actor


@dataclass(frozen=True)
class Move:
    action: str
    sources: frozenset[str]
    target: str
    actors: frozenset[str]
    label: object


def _m(action: str, sources: tuple[str, ...], target: str, actors: tuple[str, ...], label) -> Move:
    return Move(action, frozenset(sources), target, frozenset(actors), label)


REVIEWABLE = (S.IN_REVIEW, S.DECLINED)
#: The states in which a request waits for the customer's answer (the policy's no_answer applies).
NO_ANSWER_WAITS = (S.WAITING_FOR_CUSTOMER, S.OFFERED)
#: The move a no_answer outcome makes.
NO_ANSWER_MOVES = {"close": "no_answer_close", "review": "no_answer_review", "accept": "no_answer_accept",
                   "decline": "no_answer_decline"}
WITHDRAWABLE = (S.SUBMITTED, S.IN_REVIEW, S.WAITING_FOR_CUSTOMER, S.OFFERED, S.DECLINED, S.REJECTED, S.APPEALED)

MOVES: tuple[Move, ...] = (
    # the policy decides at submission
    _m("policy_approve", (S.SUBMITTED,), S.APPROVED, (A.POLICY,), _("approved by the policy")),
    _m("policy_reject", (S.SUBMITTED,), S.REJECTED, (A.POLICY,), _("rejected by the policy")),
    _m("policy_redirect", (S.SUBMITTED,), S.REDIRECTED, (A.POLICY,), _("sent to the store by the policy")),
    _m("policy_review", (S.SUBMITTED,), S.IN_REVIEW, (A.POLICY,), _("sent to an agent for review")),
    # agents
    _m("ask_info", (S.IN_REVIEW,), S.WAITING_FOR_CUSTOMER, (A.AGENT, A.SUPERVISOR), _("ask the customer")),
    _m("offer", REVIEWABLE, S.OFFERED, (A.AGENT, A.SUPERVISOR), _("offer an amount")),
    _m("approve", REVIEWABLE, S.APPROVED, (A.AGENT, A.SUPERVISOR), _("approve")),
    _m("reject", REVIEWABLE, S.REJECTED, (A.AGENT, A.SUPERVISOR), _("reject")),
    # customers
    _m("reply", (S.WAITING_FOR_CUSTOMER,), S.IN_REVIEW, (A.CUSTOMER,), _("reply")),
    _m("accept_offer", (S.OFFERED,), S.ACCEPTED, (A.CUSTOMER,), _("accept the offer")),
    _m("decline_offer", (S.OFFERED,), S.DECLINED, (A.CUSTOMER,), _("decline the offer")),
    _m("appeal", (S.REJECTED,), S.APPEALED, (A.CUSTOMER,), _("appeal")),
    _m("withdraw", WITHDRAWABLE, S.WITHDRAWN, (A.CUSTOMER,), _("withdraw")),
    # applying again for the order of a rejection that no longer holds it (holds_order) closes the rejection
    _m("reapply", (S.REJECTED,), S.SUPERSEDED, (A.CUSTOMER,), _("apply again")),
    # the customer did not answer a question or an offer in time (the policy's no_answer)
    _m("no_answer_close", NO_ANSWER_WAITS, S.UNANSWERED, (A.SYSTEM,), _("close: no answer")),
    _m("no_answer_review", (S.WAITING_FOR_CUSTOMER,), S.IN_REVIEW, (A.SYSTEM,), _("decide without the answer")),
    _m("no_answer_accept", (S.OFFERED,), S.ACCEPTED, (A.SYSTEM,), _("take the offer as accepted")),
    _m("no_answer_decline", (S.OFFERED,), S.DECLINED, (A.SYSTEM,), _("take the offer as declined")),
    # supervisors decide appeals, finally
    _m("appeal_approve", (S.APPEALED,), S.APPROVED, (A.SUPERVISOR,), _("uphold the appeal")),
    _m("appeal_reject", (S.APPEALED,), S.REJECTED_FINAL, (A.SUPERVISOR,), _("reject the appeal")),
    # money (driven by refund execution)
    _m("refund_start", (S.APPROVED, S.ACCEPTED), S.REFUNDING, (A.SYSTEM,), _("refund started")),
    # refund_failed -> refunded: finance paid it by other means, or the gateway reports a late success
    _m("refund_succeed", (S.REFUNDING, S.REFUND_FAILED), S.REFUNDED, (A.SYSTEM, A.FINANCE), _("refund paid")),
    _m("refund_fail", (S.REFUNDING,), S.REFUND_FAILED, (A.SYSTEM, A.FINANCE), _("refund failed")),
    _m("refund_retry", (S.REFUND_FAILED,), S.REFUNDING, (A.FINANCE, A.SYSTEM), _("retry the refund")),
    # the gateway failed a refund after reporting it paid (the card was closed; the bank returned it)
    _m("refund_reverse", (S.REFUNDED,), S.REFUND_FAILED, (A.SYSTEM,), _("refund returned by the bank")),
)
MOVES_BY_ACTION = {m.action: m for m in MOVES}

# A request in one of these states still counts as "open" for its order: no second request.
CLOSED = frozenset({S.WITHDRAWN, S.REDIRECTED, S.REJECTED_FINAL, S.REFUNDED, S.SUPERSEDED, S.UNANSWERED})
OPEN = frozenset(s for s in S.values if s not in CLOSED)
# An open state a request leaves by the customer's applying again for its order, once it no longer holds it.
RELEASABLE = frozenset({S.REJECTED})
# The agent's review clock runs in these states.
REVIEW_CLOCK = frozenset({S.IN_REVIEW, S.DECLINED, S.APPEALED})
# The refund clock runs in these.
REFUND_CLOCK = frozenset({S.APPROVED, S.ACCEPTED, S.REFUNDING, S.REFUND_FAILED})


def move_for(action: str, status: str, actor: str) -> Move:
    move = MOVES_BY_ACTION.get(action)
    if move is None:
        raise IllegalTransition(f"'{action}' is not an action; known: {', '.join(MOVES_BY_ACTION)}.", field="action")
    if status not in move.sources:
        allowed = ", ".join(sorted(m.action for m in MOVES if status in m.sources)) or _("nothing: it is closed")
        raise IllegalTransition(
            _("This request is %(status)s, so it cannot be moved by '%(action)s'. Possible now: %(allowed)s.")
            % {"status": status_label(status, customer=actor == A.CUSTOMER), "action": action, "allowed": allowed},
        )
    if actor not in move.actors:
        raise IllegalTransition(
            _("'%(action)s' is not something a %(actor)s can do.") % {"action": action, "actor": Actor(actor).label},
        )
    return move


def holds_order(status: str, *, reapply: bool, appeal_due_at, now) -> bool:
    """Whether a request in `status` keeps its order from a new request (the rule of the module docstring):
    every OPEN status does, except a rejection (RELEASABLE) whose clause lets the customer apply again at once
    (`reapply`) or whose appeal window has ended (`appeal_due_at`, an aware datetime, before or at `now`).
    A rejection without a known end of its window (no holiday schedule for its year yet) keeps holding it."""
    if status not in OPEN:
        return False
    if status not in RELEASABLE:
        return True
    if reapply:
        return False
    return appeal_due_at is None or now < appeal_due_at


def actions_available(status: str, actor: str) -> list[Move]:
    return [m for m in MOVES if status in m.sources and actor in m.actors]


def staff_actor(user, *, supervisor: bool = False) -> str:
    """The one rule from a staff member's roles to the actor they act as: a supervisor acts as Supervisor,
    an agent as Agent. `supervisor`: only a supervisor may act. Raises PermissionDenied (403) for anyone
    else (a customer, finance alone, an anonymous user)."""
    from refunddesk.core import roles
    from refunddesk.core.errors import PermissionDenied

    if roles.has_role(user, roles.SUPERVISOR):
        return Actor.SUPERVISOR
    if supervisor:
        raise PermissionDenied(_("Only a supervisor can do this."))
    if roles.has_role(user, roles.AGENT):
        return Actor.AGENT
    raise PermissionDenied(_("Only agents and supervisors can act on refund requests."))

"""The one table of what staff can do to a request, shared by the console and the staff API.

Each action is named as in the state machine (states.MOVES: ask_info, offer, approve, reject,
appeal_approve, appeal_reject) or, for what moves nothing, as its timeline entry (assign, note, mediation),
and calls exactly one service. The console's forms and the API's JSON both give `params`; who may act, and
as which actor, is decided by the services (states.staff_actor: one rule).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from refunddesk.core.errors import ValidationError
from refunddesk.refunds import services


@dataclass(frozen=True)
class StaffAction:
    name: str
    label: Any  # lazy text, for people
    supervisor_only: bool
    run: Callable[[Any, str, dict], Any]  # (user, public_id, params) -> what the service returns


def _amount(params: dict) -> Any:
    value = params.get("amount")
    if isinstance(value, str):
        value = value.strip()
    return None if value in (None, "") else value


STAFF_ACTIONS: dict[str, StaffAction] = {a.name: a for a in (
    StaffAction("assign", gettext_lazy("Assign"), False, lambda user, pid, p: services.refund_request_assign(
        public_id=pid, user=user, assignee=p.get("assignee"))),
    StaffAction("ask_info", gettext_lazy("Ask the customer"), False, lambda user, pid, p:
                services.refund_request_ask_info(public_id=pid, user=user, message=p.get("message", ""))),
    StaffAction("offer", gettext_lazy("Offer an amount"), False, lambda user, pid, p: services.refund_request_offer(
        public_id=pid, user=user, amount=_amount(p), note=p.get("message", ""), clause=p.get("clause", ""),
        override_reason=p.get("override_reason", ""))),
    StaffAction("approve", gettext_lazy("Approve"), False, lambda user, pid, p: services.refund_request_approve(
        public_id=pid, user=user, amount=_amount(p), reason=p.get("reason", ""), clause=p.get("clause", ""),
        override_reason=p.get("override_reason", ""))),
    StaffAction("reject", gettext_lazy("Reject"), False, lambda user, pid, p: services.refund_request_reject(
        public_id=pid, user=user, reason=p.get("reason", ""), clause=p.get("clause", ""))),
    StaffAction("appeal_approve", gettext_lazy("Uphold the appeal: refund"), True, lambda user, pid, p:
                services.refund_request_decide_appeal(
                    public_id=pid, user=user, uphold=True, reason=p.get("reason", ""), clause=p.get("clause", ""),
                    amount=_amount(p), override_reason=p.get("override_reason", ""))),
    StaffAction("appeal_reject", gettext_lazy("Reject the appeal (final)"), True, lambda user, pid, p:
                services.refund_request_decide_appeal(
                    public_id=pid, user=user, uphold=False, reason=p.get("reason", ""), clause=p.get("clause", ""))),
    StaffAction("note", gettext_lazy("Internal note"), False, lambda user, pid, p: services.refund_request_staff_note(
        public_id=pid, user=user, note=p.get("message", ""))),
    StaffAction("mediation", gettext_lazy("Record a mediation"), True, lambda user, pid, p: services.mediation_record(
        public_id=pid, user=user, mediator=p.get("mediator", ""), outcome=p.get("outcome", ""))),
)}


def staff_action_run(*, name: str, user, public_id: str, params: dict) -> Any:
    """Do staff action `name` (a key of STAFF_ACTIONS) on request `public_id` with `params` (message, reason,
    clause, amount as a decimal string in major units or None, override_reason, assignee as a User, mediator,
    outcome). Raises ValidationError (422, field "action") for an unknown action, and whatever the service
    raises (PermissionDenied, NotFound, IllegalTransition, ValidationError)."""
    action = STAFF_ACTIONS.get(name)
    if action is None:
        raise ValidationError(_("'%(action)s' is not an action; use one of: %(known)s.")
                              % {"action": name, "known": ", ".join(STAFF_ACTIONS)}, field="action")
    return action.run(user, public_id, params)

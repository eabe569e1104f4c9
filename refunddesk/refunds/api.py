"""API v1 for refund requests: customer endpoints (as that customer) and staff endpoints (staff tokens).

Thin: parse, call one service or selector, shape the answer. Another customer's request is a 404.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Path, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from refunddesk.core import roles
from refunddesk.core.api_errors import errors, fields_as_sent
from refunddesk.core.api_fields import LONG_TEXT, Amount, text
from refunddesk.core.auth import user_token_auth
from refunddesk.core.errors import NotFound, PermissionDenied
from refunddesk.policies.api import PolicyRef, policy_ref
from refunddesk.refunds import selectors, services
from refunddesk.refunds.actions import STAFF_ACTIONS, staff_action_run
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Actor, actions_available, staff_actor, status_label

customer_router = Router(auth=user_token_auth, tags=["refund requests (customer)"])
staff_router = Router(auth=user_token_auth, tags=["refund requests (staff)"])

# The portal's limits (refunddesk/portal/forms.py), kept by the API too.
NOTE = 2000
RequestId = Path(..., min_length=1, max_length=20, description="the request's number, e.g. RR-3F2A9C01B7D4")
# What multipart `files` may hold: the evidence rules (refunddesk/refunds/evidence.py) check each file's
# content, size and count, and refuse with a 422 naming `files`.
FILES_DOC = ("evidence: images (JPEG, PNG, GIF, WebP, HEIC), PDF, video (MP4, QuickTime, WebM) or plain text, "
             "checked by content; REFUNDDESK_EVIDENCE_MAX_FILES files (default 5) of at most "
             "REFUNDDESK_EVIDENCE_MAX_BYTES each (default 10 MB)")
EVIDENCE = File(None, description=FILES_DOC)


# --- shapes -------------------------------------------------------------------


class MoneyOut(Schema):
    amount: str
    currency: str


class EventOut(Schema):
    at: dt.datetime
    action: str
    actor: str
    from_status: str
    to_status: str
    note: str
    clause: str
    amount: MoneyOut | None = None
    override: bool = False


class RequestDecisionOut(Schema):
    """What the policy decided on submission."""

    policy: PolicyRef | None
    outcome: str
    clause: str
    refund: MoneyOut | None
    explanation: dict


class RefundOut(Schema):
    """The money of an approved request: its state, amount, gateway and when it should reach the customer."""

    status: str
    amount: MoneyOut
    gateway: str
    arrival_by: dt.datetime | None


class RequestOut(Schema):
    id: str
    order_number: str
    reason: str
    description: str
    status: str
    status_label: str
    submitted_at: dt.datetime
    review_due_at: dt.datetime | None
    refund_due_at: dt.datetime | None
    overdue: bool
    decision: RequestDecisionOut
    offered: MoneyOut | None
    approved: MoneyOut | None
    redirect_instructions: dict
    actions: list[str]
    refund: RefundOut | None = None
    timeline: list[EventOut] | None = None


class StaffDecisionOut(RequestDecisionOut):
    """The decision as staff see it: with the policy's trace and the facts it was given."""

    trace: list[dict]
    facts: dict


class StaffRequestOut(RequestOut):
    decision: StaffDecisionOut


def _money(req: RefundRequest, minor: int | None) -> dict | None:
    m = req.money(minor)
    return m.as_json() if m else None


def _out(req: RefundRequest, *, actor: str, timeline: bool = False, staff: bool = False) -> dict:
    refund = getattr(req, "refund", None) if hasattr(req, "refund") else None
    data = {
        "id": req.public_id, "order_number": req.order.external_id, "reason": req.reason,
        "description": req.description, "status": req.status, "status_label": status_label(req.status, customer=not staff),
        "submitted_at": req.submitted_at, "review_due_at": req.review_due_at, "refund_due_at": req.refund_due_at,
        "overdue": selectors.is_overdue(req),
        "decision": {
            "policy": policy_ref(req.policy_version) if req.policy_version_id else None,
            "outcome": req.policy_outcome, "clause": req.policy_clause,
            "refund": _money(req, req.policy_amount_minor), "explanation": req.policy_explanation,
            **({"trace": req.policy_trace, "facts": req.facts} if staff else {}),
        },
        "offered": _money(req, req.offered_amount_minor), "approved": _money(req, req.approved_amount_minor),
        "redirect_instructions": req.redirect_instructions,
        "actions": [m.action for m in actions_available(req.status, actor)],
        "refund": {"status": refund.status, "amount": refund.amount.as_json(), "gateway": refund.gateway,
                   "arrival_by": refund.arrival_by} if refund else None,
    }
    if timeline:
        data["timeline"] = [
            {"at": e.at, "action": e.action, "actor": e.actor_kind, "from_status": e.from_status,
             "to_status": e.to_status, "note": e.note, "clause": e.clause,
             "amount": _money(req, e.amount_minor), "override": e.override}
            for e in req.timeline.all()
        ]
    return data


def _customer(request: HttpRequest):
    customer = getattr(request.auth, "customer", None)
    if customer is None:
        raise PermissionDenied(_("This token does not belong to a customer account."), field="Authorization")
    return customer


def _uploads(files: list[UploadedFile] | None) -> list[services.Upload]:
    """The multipart `files` (streamed to disk by refunds.evidence.EvidenceUploadHandler, which also stands in a
    RefusedUpload for each file beyond the limits) -> the services' Upload values; nothing is read here."""
    return [services.Upload(name=f.name or "upload", file=f) for f in files or []]


# --- customer endpoints -------------------------------------------------------


@customer_router.post("/requests", response={201: RequestOut, **errors(403, 404, 409)})
def submit(request: HttpRequest, order_number: str = Form(..., max_length=100),
           reason: str = Form(..., max_length=30, description="technical_issue, service_outage, not_satisfied, "
                              "duplicate_charge, wrong_charge, changed_mind, emergency or other"),
           description: str = Form("", max_length=LONG_TEXT), language: str = Form("", max_length=10),
           files: list[UploadedFile] = EVIDENCE):
    """Apply for a refund of one of your orders, with evidence. 409 when the order already has an open
    request."""
    with fields_as_sent(evidence="files"):
        req = services.refund_request_submit(
            customer=_customer(request), order_number=order_number, reason=reason, description=description,
            language=language or None, files=_uploads(files),
        )
    req = selectors.customer_request_shown(customer=req.customer, public_id=req.public_id)
    return Status(201, _out(req, actor=Actor.CUSTOMER, timeline=True))


@customer_router.get("/requests", response={200: list[RequestOut], **errors(403)})
def my_requests(request: HttpRequest):
    """Your requests, newest first, without their timelines."""
    return [_out(r, actor=Actor.CUSTOMER) for r in selectors.customer_request_list(customer=_customer(request))]


@customer_router.get("/requests/{public_id}", response={200: RequestOut, **errors(403, 404)})
def my_request(request: HttpRequest, public_id: str = RequestId):
    req = selectors.customer_request_shown(customer=_customer(request), public_id=public_id)
    return _out(req, actor=Actor.CUSTOMER, timeline=True)


def _customer_show(request, public_id):
    return _out(selectors.customer_request_shown(customer=_customer(request), public_id=public_id),
                actor=Actor.CUSTOMER, timeline=True)


@customer_router.post("/requests/{public_id}/reply", response={200: RequestOut, **errors(403, 404, 409)})
def reply(request: HttpRequest, public_id: str = RequestId, message: str = Form(..., max_length=LONG_TEXT),
          files: list[UploadedFile] = EVIDENCE):
    with fields_as_sent(evidence="files"):
        services.refund_request_reply(customer=_customer(request), public_id=public_id, message=message,
                                      files=_uploads(files))
    return _customer_show(request, public_id)


class NoteIn(Schema):
    note: str = text(NOTE, "")


@customer_router.post("/requests/{public_id}/offer/accept", response={200: RequestOut, **errors(403, 404, 409)})
def accept_offer(request: HttpRequest, public_id: str = RequestId):
    services.refund_request_accept_offer(customer=_customer(request), public_id=public_id)
    return _customer_show(request, public_id)


@customer_router.post("/requests/{public_id}/offer/decline", response={200: RequestOut, **errors(403, 404, 409)})
def decline_offer(request: HttpRequest, payload: NoteIn | None = None, public_id: str = RequestId):
    services.refund_request_decline_offer(customer=_customer(request), public_id=public_id,
                                          note=payload.note if payload else "")
    return _customer_show(request, public_id)


@customer_router.post("/requests/{public_id}/withdraw", response={200: RequestOut, **errors(403, 404, 409)})
def withdraw(request: HttpRequest, payload: NoteIn | None = None, public_id: str = RequestId):
    services.refund_request_withdraw(customer=_customer(request), public_id=public_id,
                                     note=payload.note if payload else "")
    return _customer_show(request, public_id)


@customer_router.post("/requests/{public_id}/appeal", response={200: RequestOut, **errors(403, 404, 409)})
def appeal(request: HttpRequest, public_id: str = RequestId, reason: str = Form(..., max_length=LONG_TEXT),
           files: list[UploadedFile] = EVIDENCE):
    with fields_as_sent(evidence="files"):
        services.refund_request_appeal(customer=_customer(request), public_id=public_id, reason=reason,
                                       files=_uploads(files))
    return _customer_show(request, public_id)


# --- staff endpoints ------------------------------------------------------------


def _staff(request: HttpRequest):
    user = request.auth
    if not (roles.has_role(user, roles.AGENT) or roles.has_role(user, roles.SUPERVISOR)):
        raise PermissionDenied(_("Staff endpoints need an agent's or supervisor's token."), field="Authorization")
    return user


def _staff_actor(user) -> str:
    return staff_actor(user)


class QueueQuery(Schema):
    status: str | None = text(30, None)
    reason: str | None = text(30, None)
    overdue: bool | None = None
    assignee: str | None = text(150, None, description="a staff member's user name, or `me`")
    gateway: str | None = text(30, None)
    appeals: bool = False
    limit: int = Field(100, ge=1, le=500)


@staff_router.get("/queue", response={200: list[RequestOut], **errors(403)})
def staff_queue(request: HttpRequest, query: Query[QueueQuery]):
    user = _staff(request)
    q = query
    rows = selectors.queue(filters=selectors.QueueFilters(status=q.status, reason=q.reason, overdue=q.overdue,
                                                          assignee=q.assignee, gateway=q.gateway, appeals=q.appeals),
                           user=user)[: q.limit]
    return [_out(r, actor=_staff_actor(user)) for r in rows]


@staff_router.get("/requests/{public_id}", response={200: StaffRequestOut, **errors(403, 404)})
def staff_show(request: HttpRequest, public_id: str = RequestId):
    user = _staff(request)
    return _out(selectors.staff_request(public_id=public_id), actor=_staff_actor(user), timeline=True, staff=True)


class ActionIn(Schema):
    action: str = text(20, description=", ".join(STAFF_ACTIONS) + ": named as in the state machine "
                                       "(refunds.actions.STAFF_ACTIONS, the console's too)")
    message: str = text(LONG_TEXT, "")
    reason: str = text(LONG_TEXT, "")
    clause: str = text(100, "")
    amount: Amount | None = None
    override_reason: str = text(LONG_TEXT, "")
    assignee: str | None = text(150, None)
    mediator: str = text(200, "")
    outcome: str = text(LONG_TEXT, "")


@staff_router.post("/requests/{public_id}/actions", response={200: StaffRequestOut, **errors(403, 404, 409)})
def staff_act(request: HttpRequest, payload: ActionIn, public_id: str = RequestId):
    user = _staff(request)
    params = payload.dict()
    if payload.action == "assign" and payload.assignee:
        from refunddesk.core.models import User

        params["assignee"] = User.objects.filter(username=payload.assignee).first()
        if params["assignee"] is None:
            raise NotFound(_("There is no staff member '%(name)s'.") % {"name": payload.assignee}, field="assignee")
    staff_action_run(name=payload.action, user=user, public_id=public_id, params=params)
    pid = public_id
    return _out(selectors.staff_request(public_id=pid), actor=_staff_actor(user), timeline=True, staff=True)

"""API v1 for refund requests: customer endpoints (as that customer) and staff endpoints (staff tokens).

Thin: parse, call one service or selector, shape the answer. Another customer's request is a 404.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from refunddesk.core import roles
from refunddesk.core.auth import user_token_auth
from refunddesk.core.errors import NotFound, PermissionDenied, ValidationError
from refunddesk.refunds import selectors, services
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Actor, actions_available

customer_router = Router(auth=user_token_auth, tags=["refund requests (customer)"])
staff_router = Router(auth=user_token_auth, tags=["refund requests (staff)"])


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
    decision: dict
    offered: MoneyOut | None
    approved: MoneyOut | None
    redirect_instructions: dict
    actions: list[str]
    refund: dict | None = None
    timeline: list[EventOut] | None = None


def _money(req: RefundRequest, minor: int | None) -> dict | None:
    m = req.money(minor)
    return m.as_json() if m else None


def _out(req: RefundRequest, *, actor: str, timeline: bool = False, staff: bool = False) -> dict:
    refund = getattr(req, "refund", None) if hasattr(req, "refund") else None
    data = {
        "id": req.public_id, "order_number": req.order.external_id, "reason": req.reason,
        "description": req.description, "status": req.status, "status_label": str(req.get_status_display()),
        "submitted_at": req.submitted_at, "review_due_at": req.review_due_at, "refund_due_at": req.refund_due_at,
        "overdue": selectors.is_overdue(req),
        "decision": {
            "policy": {"id": req.policy_version.policy_id, "version": req.policy_version.version}
            if req.policy_version_id else None,
            "outcome": req.policy_outcome, "clause": req.policy_clause,
            "refund": _money(req, req.policy_amount_minor), "explanation": req.policy_explanation,
            **({"trace": req.policy_trace, "facts": req.facts} if staff else {}),
        },
        "offered": _money(req, req.offered_amount_minor), "approved": _money(req, req.approved_amount_minor),
        "redirect_instructions": req.redirect_instructions,
        "actions": [m.action for m in actions_available(req.status, actor)],
        "refund": {"status": refund.status, "amount": refund.amount.as_json(), "gateway": refund.gateway,
                   "arrival_by": refund.arrival_by.isoformat() if refund.arrival_by else None} if refund else None,
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
        raise PermissionDenied("this token does not belong to a customer account.")
    return customer


def _uploads(files: list[UploadedFile] | None) -> list[services.Upload]:
    """The multipart `files` (streamed to disk by refunds.evidence.EvidenceUploadHandler, which also stands in a
    RefusedUpload for each file beyond the limits) -> the services' Upload values; nothing is read here."""
    return [services.Upload(name=f.name or "upload", file=f) for f in files or []]


# --- customer endpoints -------------------------------------------------------


@customer_router.post("/requests", response={201: RequestOut})
def submit(request: HttpRequest, order_number: Form[str], reason: Form[str], description: Form[str] = "",
           language: Form[str] = "", files: File[list[UploadedFile]] = None):
    req = services.refund_request_submit(
        customer=_customer(request), order_number=order_number, reason=reason, description=description,
        language=language or None, files=_uploads(files),
    )
    req = selectors.customer_request(customer=req.customer, public_id=req.public_id)
    return Status(201, _out(req, actor=Actor.CUSTOMER, timeline=True))


@customer_router.get("/requests", response=list[RequestOut])
def my_requests(request: HttpRequest):
    return [_out(r, actor=Actor.CUSTOMER) for r in selectors.customer_requests(customer=_customer(request))]


@customer_router.get("/requests/{public_id}", response=RequestOut)
def my_request(request: HttpRequest, public_id: str):
    req = selectors.customer_request(customer=_customer(request), public_id=public_id)
    return _out(req, actor=Actor.CUSTOMER, timeline=True)


def _customer_show(request, public_id):
    return _out(selectors.customer_request(customer=_customer(request), public_id=public_id),
                actor=Actor.CUSTOMER, timeline=True)


@customer_router.post("/requests/{public_id}/reply", response=RequestOut)
def reply(request: HttpRequest, public_id: str, message: Form[str], files: File[list[UploadedFile]] = None):
    services.refund_request_reply(customer=_customer(request), public_id=public_id, message=message,
                                  files=_uploads(files))
    return _customer_show(request, public_id)


class NoteIn(Schema):
    note: str = ""


@customer_router.post("/requests/{public_id}/offer/accept", response=RequestOut)
def accept_offer(request: HttpRequest, public_id: str):
    services.refund_request_accept_offer(customer=_customer(request), public_id=public_id)
    return _customer_show(request, public_id)


@customer_router.post("/requests/{public_id}/offer/decline", response=RequestOut)
def decline_offer(request: HttpRequest, public_id: str, payload: NoteIn | None = None):
    services.refund_request_decline_offer(customer=_customer(request), public_id=public_id,
                                          note=payload.note if payload else "")
    return _customer_show(request, public_id)


@customer_router.post("/requests/{public_id}/withdraw", response=RequestOut)
def withdraw(request: HttpRequest, public_id: str, payload: NoteIn | None = None):
    services.refund_request_withdraw(customer=_customer(request), public_id=public_id,
                                     note=payload.note if payload else "")
    return _customer_show(request, public_id)


@customer_router.post("/requests/{public_id}/appeal", response=RequestOut)
def appeal(request: HttpRequest, public_id: str, reason: Form[str], files: File[list[UploadedFile]] = None):
    services.refund_request_appeal(customer=_customer(request), public_id=public_id, reason=reason,
                                   files=_uploads(files))
    return _customer_show(request, public_id)


# --- staff endpoints ------------------------------------------------------------


def _staff(request: HttpRequest):
    user = request.auth
    if not (roles.has_role(user, roles.AGENT) or roles.has_role(user, roles.SUPERVISOR)):
        raise PermissionDenied("staff endpoints need an agent's or supervisor's token.")
    return user


def _staff_actor(user) -> str:
    return Actor.SUPERVISOR if roles.has_role(user, roles.SUPERVISOR) else Actor.AGENT


@staff_router.get("/queue", response=list[RequestOut])
def staff_queue(request: HttpRequest, status: str | None = None, reason: str | None = None,
                overdue: bool | None = None, assignee: str | None = None, gateway: str | None = None,
                appeals: bool = False, limit: int = 100):
    user = _staff(request)
    rows = selectors.queue(filters=selectors.QueueFilters(status=status, reason=reason, overdue=overdue,
                                                          assignee=assignee, gateway=gateway, appeals=appeals),
                           user=user)[: max(1, min(limit, 500))]
    return [_out(r, actor=_staff_actor(user)) for r in rows]


@staff_router.get("/requests/{public_id}", response=RequestOut)
def staff_show(request: HttpRequest, public_id: str):
    user = _staff(request)
    return _out(selectors.staff_request(public_id=public_id), actor=_staff_actor(user), timeline=True, staff=True)


class ActionIn(Schema):
    action: str  # assign, ask_info, offer, approve, reject, appeal_approve, appeal_reject, note, mediation
    message: str = ""
    reason: str = ""
    clause: str = ""
    amount: str | None = None
    override_reason: str = ""
    assignee: str | None = None
    mediator: str = ""
    outcome: str = ""


@staff_router.post("/requests/{public_id}/actions", response=RequestOut)
def staff_act(request: HttpRequest, public_id: str, payload: ActionIn):
    user = _staff(request)
    a, pid = payload.action, public_id
    if a == "assign":
        from refunddesk.core.models import User

        target = User.objects.filter(username=payload.assignee).first() if payload.assignee else None
        if payload.assignee and target is None:
            raise NotFound(f"no staff member '{payload.assignee}'.", field="assignee")
        services.refund_request_assign(public_id=pid, user=user, assignee=target)
    elif a == "ask_info":
        services.refund_request_ask_info(public_id=pid, user=user, message=payload.message)
    elif a == "offer":
        services.refund_request_offer(public_id=pid, user=user, amount=payload.amount, note=payload.message,
                                      clause=payload.clause, override_reason=payload.override_reason)
    elif a == "approve":
        services.refund_request_approve(public_id=pid, user=user, amount=payload.amount, reason=payload.reason,
                                        clause=payload.clause, override_reason=payload.override_reason)
    elif a == "reject":
        services.refund_request_reject(public_id=pid, user=user, reason=payload.reason, clause=payload.clause)
    elif a in ("appeal_approve", "appeal_reject"):
        services.refund_request_decide_appeal(public_id=pid, user=user, uphold=a == "appeal_approve",
                                              reason=payload.reason, clause=payload.clause, amount=payload.amount,
                                              override_reason=payload.override_reason)
    elif a == "note":
        services.refund_request_staff_note(public_id=pid, user=user, note=payload.message)
    elif a == "mediation":
        services.mediation_record(public_id=pid, user=user, mediator=payload.mediator, outcome=payload.outcome)
    else:
        raise ValidationError(f"'{a}' is not an action; use assign, ask_info, offer, approve, reject, "
                              "appeal_approve, appeal_reject, note or mediation.", field="action")
    return _out(selectors.staff_request(public_id=pid), actor=_staff_actor(user), timeline=True, staff=True)

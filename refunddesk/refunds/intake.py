"""One way in: from "a customer (or an outage) asks about an order" to "a request exists and is decided".

* `decide_orders` / `decide_order`: the facts (refunds.facts, contract v1), the policy version that decides
  (policies.services.VersionPicker), its evaluation and the one *effective* outcome
  (policies.outcome.effective_outcome: the store rule, "approve of nothing" to a person), for one order
  or a thousand, in a fixed number of queries.
* `request_fields` / `requests_create`: a new request's row, built one way for one request or many, then
  inserted one at a time (`save`, drawing a new number when the random one is taken) or in bulk
  (core.bulk.insert_rows: the same rows, the same constraints), each with its `submit` timeline event.
* `decision_apply` / `decisions_apply`: the policy's decision applied through refunds.lifecycle (the move,
  the deadline, the customer's email, the money).

Submission (services.refund_request_submit), outage compensation (status.compensation), the portal's
previews (portal.selectors) and the policy API (`POST /api/v1/policy/evaluate`) all go through here.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from refunddesk.billing.models import Order
from refunddesk.core.bulk import insert_rows
from refunddesk.core.dates import format_date
from refunddesk.core.errors import ApplicationError, Conflict
from refunddesk.core.i18n import is_zh
from refunddesk.core.money import Money
from refunddesk.policies import engine
from refunddesk.policies.models import PolicyVersion
from refunddesk.policies.outcome import effective_outcome
from refunddesk.policies.services import VersionPicker, compiled
from refunddesk.refunds import lifecycle
from refunddesk.refunds.facts import Row, facts_for_orders
from refunddesk.refunds.models import RefundRequest, TimelineEvent, _public_id
from refunddesk.refunds.states import OPEN, Actor, Status

log = logging.getLogger(__name__)

LANGUAGES = ("zh-hans", "en")

#: How to ask each store for the money (seed 000 FAQ Q2): shown with a redirect, in the request's language.
STORE_INSTRUCTIONS = {
    "app_store": {
        "store": "Apple App Store",
        "en": "Open reportaproblem.apple.com, sign in with your Apple ID, choose 'Request a refund', pick this "
              "purchase and say why. Apple decides and refunds it to your Apple account.",
        "zh": "打开 reportaproblem.apple.com，使用您的 Apple ID 登录，选择「申请退款」，选中这笔购买并说明原因。"
              "由 Apple 审核并退回您的 Apple 账户。",
    },
    "google_play": {
        "store": "Google Play",
        "en": "Open play.google.com, go to Payments & subscriptions > Budget & order history, pick this order and "
              "choose 'Request a refund'. Google decides and refunds it.",
        "zh": "打开 play.google.com，进入「付款和订阅」>「预算和订单记录」，选中此订单并选择「申请退款」。"
              "由 Google 审核并退款。",
    },
}


# --- deciding ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decided:
    """What the policy decided for one order and one reason, and what refunddesk does with it.

    `outcome` is the effective one (approve, reject, review, redirect); `decision` the engine's own
    (its outcome may differ: an approval of nothing is reviewed). `facts` are those it decided on, with the
    deciding policy's business days under `_review_business_days` / `_refund_business_days`."""

    version: PolicyVersion
    decision: engine.Decision
    outcome: str
    facts: dict

    @property
    def clause(self) -> str:
        return self.decision.clause

    @property
    def amount(self) -> Money | None:
        return self.decision.amount

    def record(self) -> dict[str, Any]:
        """The request fields that store this decision (written once: RefundRequest.SUBMISSION_RECORD)."""
        data = self.decision.to_json()
        amount = self.decision.amount
        return {
            "policy_version_id": self.version.pk, "policy_outcome": data["outcome"], "policy_clause": data["clause"],
            "policy_amount_minor": amount.minor if amount is not None else None,
            "policy_explanation": data["explanation"], "policy_trace": data["trace"], "facts": self.facts,
        }


def evaluate_facts(*, version: PolicyVersion, facts: dict, sales_channel: str) -> Decided:
    """Evaluate `facts` (JSON-shaped, contract v1) with `version`'s compiled policy and the effective rule.
    Adds the deciding policy's business days to `facts` (in place)."""
    policy = compiled(version)
    decision = engine.evaluate(policy, facts)
    facts["_review_business_days"] = policy.review_business_days or settings.REFUNDDESK_REVIEW_BUSINESS_DAYS
    facts["_refund_business_days"] = policy.refund_business_days or settings.REFUNDDESK_REFUND_BUSINESS_DAYS
    amount = decision.amount
    outcome = effective_outcome(outcome=decision.outcome, amount_minor=amount.minor if amount is not None else None,
                                sales_channel=sales_channel)
    return Decided(version=version, decision=decision, outcome=outcome, facts=facts)


def decide_orders(rows: list[Row], *, reason: str, now: dt.datetime, submitted_at: dt.datetime | None = None,
                  plans: dict | None = None, versions: VersionPicker | None = None) -> dict[int, Decided]:
    """Decide a request with `reason` for each order in `rows` (refunds.facts.Row), by order id: the facts in
    seven queries, the version per order (REFUNDDESK_POLICY_VERSION_RULE), the evaluation. Raises
    ConfigurationError (503) when no policy is published."""
    if not rows:
        return {}
    facts = facts_for_orders(rows, reason=reason, now=now, submitted_at=submitted_at, plans=plans)
    versions = versions or VersionPicker(now)
    return {r.id: evaluate_facts(version=versions.for_order(r.purchased_at), facts=facts[r.id],
                                 sales_channel=r.sales_channel) for r in rows}


def decide_order(order: Order, *, reason: str, now: dt.datetime,
                 submitted_at: dt.datetime | None = None) -> Decided:
    """`decide_orders` for one order."""
    return decide_orders([Row.of(order)], reason=reason, now=now, submitted_at=submitted_at)[order.pk]


# --- the order must be free ----------------------------------------------------------------------


def order_release(order: Order, *, actor=None, now: dt.datetime) -> RefundRequest | None:
    """Make way for a new request on `order` (the caller holds the order's row lock): nothing to do when it
    has no open request; a rejection that no longer holds it (lifecycle.holds: its clause lets the customer
    apply again, or its appeal window has passed) is closed by the move `reapply` and returned; any other
    open request refuses with Conflict (409, field order_number) naming it, and for a rejection until when
    it may be appealed."""
    # the request's row alone (PostgreSQL refuses FOR UPDATE on the nullable side of an outer join; the
    # order is the caller's, locked already); nearly always there is none, so nothing else is read
    existing = RefundRequest.objects.select_for_update(no_key=True).filter(order=order, status__in=OPEN).first()
    if existing is None:
        return None
    existing.order = order
    if lifecycle.holds(existing, now=now):
        if existing.status == Status.REJECTED:
            until = lifecycle.appeal_due(existing)
            raise Conflict(
                _("Order %(order)s was not approved on request %(id)s. You can appeal that decision until "
                  "%(date)s; after that you can apply again.")
                % {"order": order.external_id, "id": existing.public_id,
                   "date": format_date(until, get_language()) if until else "?"},
                field="order_number", request=existing.public_id)
        raise Conflict(_("Order %(order)s already has an open refund request (%(id)s); follow that one instead.")
                       % {"order": order.external_id, "id": existing.public_id},
                       field="order_number", request=existing.public_id)
    lifecycle.move(existing, action="reapply", actor_kind=Actor.CUSTOMER, user=actor, now=now)
    return existing


# --- creating -----------------------------------------------------------------------------------


def request_language(language: str | None, fallback: str) -> str:
    """The request's language: the one asked for if refunddesk speaks it, else `fallback` (the customer's),
    else Chinese."""
    if language in LANGUAGES:
        return language
    return fallback if fallback in LANGUAGES else "zh-hans"


def request_fields(*, row: Row, decided: Decided, reason: str, description: str, language: str,
                   now: dt.datetime) -> dict[str, Any]:
    """The row of a new request for order `row`, submitted at `now` and decided by `decided`: the one
    definition, for a submission and for a bulk insert alike (fields left out keep the model's defaults)."""
    return {
        "public_id": _public_id(), "customer_id": row.customer_id, "order_id": row.id, "reason": reason,
        "description": description.strip(), "language": language, "currency": row.currency,
        "submitted_at": now, **decided.record(),
    }


def submit_event_fields(request_row: dict[str, Any], *, actor_kind: str, actor_id: int | None, now: dt.datetime,
                        data: dict | None = None) -> dict[str, Any]:
    """The `submit` timeline event of a new request (its first, append-only)."""
    return {"request_id": request_row["id"], "at": now, "actor_id": actor_id, "actor_kind": actor_kind,
            "action": "submit", "from_status": "", "to_status": Status.SUBMITTED,
            "note": request_row["description"], "data": data or {}}


def _insert_one(fields: dict[str, Any]) -> RefundRequest | None:
    """Insert one request row; a taken random number is drawn again. None when its order has an open request
    (one open request per order). The row gets its `id` and `public_id`."""
    req = RefundRequest(**fields)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                req.save(force_insert=True)
            fields.update(id=req.pk, public_id=req.public_id)
            return req
        except IntegrityError:
            if RefundRequest.objects.filter(order_id=req.order_id, status__in=OPEN).exists():
                return None
            req.pk, req.public_id = None, _public_id()
    raise Conflict(_("We could not number your request; please submit it again."), field="order_number")


def request_create(fields: dict[str, Any], *, actor_kind: str, actor=None, now: dt.datetime,
                   event_data: dict | None = None) -> RefundRequest:
    """Insert one new request (from `request_fields`) and its submit event. Raises Conflict (409) when the
    order already has an open request (a simultaneous submission won)."""
    req = _insert_one(fields)
    if req is None:
        order = Order.objects.only("external_id").get(pk=fields["order_id"])
        raise Conflict(_("Order %(order)s already has an open refund request.") % {"order": order.external_id},
                       field="order_number")
    TimelineEvent.objects.create(**submit_event_fields(fields, actor_kind=actor_kind,
                                                        actor_id=getattr(actor, "pk", None), now=now,
                                                        data=event_data))
    return req


def requests_create(rows: list[dict[str, Any]], *, actor_kind: str, now: dt.datetime,
                    event_data: dict | None = None) -> list[dict[str, Any]]:
    """Insert many new requests (each from `request_fields`) and their submit events in bulk; returns the
    rows inserted (with their `id`). An order that has an open request meanwhile is skipped (one open
    request per order); a taken number is drawn again. Runs in the caller's transaction."""
    if not rows:
        return []
    try:
        with transaction.atomic():
            insert_rows(RefundRequest, rows, now=now)
        created = rows
    except IntegrityError:  # a request appeared for one of these orders meanwhile: one at a time
        for row in rows:
            row.pop("id", None)
        created = [row for row in rows if _insert_one(row) is not None]
    insert_rows(TimelineEvent, [submit_event_fields(row, actor_kind=actor_kind, actor_id=None, now=now,
                                                    data=event_data) for row in created], now=now)
    return created


# --- applying the decision ------------------------------------------------------------------------


def decision_apply(req: RefundRequest, *, now: dt.datetime) -> None:
    """Move a `submitted` request as its stored decision says (the effective outcome, recomputed from the
    stored record and the order's sales channel): redirect to the store with its instructions, approve (the
    money starts in this transaction), reject, or review; the customer is emailed. The caller holds the
    request's lock. Raises what the money refuses (Conflict: more than is left on the order)."""
    why = req.explanation(req.language)
    clause = req.policy_clause
    outcome = effective_outcome(outcome=req.policy_outcome, amount_minor=req.policy_amount_minor,
                                sales_channel=req.order.sales_channel)
    info = STORE_INSTRUCTIONS.get(req.order.sales_channel)
    if outcome == "redirect" and info is None:
        outcome = "review"  # a store we have no instructions for: a person decides
    if outcome == "redirect":
        req.redirect_instructions = info
        lifecycle.move(req, action="policy_redirect", actor_kind=Actor.POLICY, note=why, clause=clause, now=now)
        lifecycle.email_customer(req, "decided", outcome="redirected", reason=why, clause=clause,
                                 store=info["store"], instructions=info["zh" if is_zh(req.language) else "en"])
    elif outcome == "approve":
        lifecycle.approve(req, action="policy_approve", actor_kind=Actor.POLICY, note=why, clause=clause,
                          amount_minor=req.policy_amount_minor, now=now, email_kind="decided")
    elif outcome == "reject":
        lifecycle.move(req, action="policy_reject", actor_kind=Actor.POLICY, note=why, clause=clause, now=now)
        lifecycle.email_customer(req, "decided", outcome="rejected", reason=why, clause=clause)
    else:
        review(req, now=now, note=why)


def review(req: RefundRequest, *, now: dt.datetime, note: str, data: dict | None = None) -> None:
    """Send a submitted request to a person (its review deadline starts) and tell the customer when."""
    lifecycle.move(req, action="policy_review", actor_kind=Actor.POLICY, note=note, clause=req.policy_clause,
                   now=now, data=data)
    lifecycle.email_customer(req, "received", due=format_date(req.review_due_at, req.language))


def decisions_apply(request_ids: list[int], *, now_fn=None) -> int:
    """`decision_apply` for each request still `submitted` (idempotent: others are left alone). Returns how many
    were applied.

    All of them in one transaction (`lifecycle.batch`: the timeline events in one INSERT, the emails in one
    task, the refund executions in one INSERT), the requests locked in one query. When the money refuses one
    approval (its order was refunded meanwhile) the batch is undone and the requests are taken one at a time,
    each in its own transaction, the refused one going to a person instead of staying stuck."""
    from django.utils import timezone

    now_fn = now_fn or timezone.now
    try:
        with transaction.atomic(), lifecycle.batch():
            rows = list(RefundRequest.objects.select_for_update(of=("self",), no_key=True)
                        .select_related("order", "customer")
                        .filter(pk__in=request_ids, status=Status.SUBMITTED).order_by("pk"))
            now = now_fn()
            for req in rows:
                decision_apply(req, now=now)
        return len(rows)
    except ApplicationError as exc:
        log.info("a batch of %d decisions was refused as a whole (%s): one at a time", len(request_ids), exc)
    applied = 0
    for request_id in request_ids:
        with transaction.atomic():
            req = (RefundRequest.objects.select_for_update(of=("self",), no_key=True).select_related("order", "customer")
                   .filter(pk=request_id, status=Status.SUBMITTED).first())
            if req is None:
                continue
            now = now_fn()
            try:
                with transaction.atomic():
                    decision_apply(req, now=now)
            except ApplicationError as exc:
                log.warning("request %s could not be applied as decided (%s); sent to review", req.public_id, exc)
                req = RefundRequest.objects.select_related("order", "customer").get(pk=request_id)
                review(req, now=now, note=req.explanation(req.language), data={"not_applied": str(exc)})
            applied += 1
    return applied

"""Policy API for integrators: the version in force, and decisions on facts they send.

A policy version is identified everywhere in the API by `{"id": str, "version": str}` (PolicyRef): here,
in POST /policy/evaluate's decision, and in each refund request's `decision.policy`. The version is the
string refunddesk stores for a published version (PolicyVersion.version), e.g. "3".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from refunddesk.core import roles
from refunddesk.core.api_errors import errors
from refunddesk.core.api_fields import Day, Timestamp
from refunddesk.core.auth import api_key_auth, user_token_auth
from refunddesk.core.errors import ConfigurationError, PermissionDenied, ValidationError
from refunddesk.core.models import ApiKey
from refunddesk.policies import engine
from refunddesk.policies.models import PolicyVersion
from refunddesk.policies.outcome import effective_json
from refunddesk.policies.services import compiled, replay_ask, version_in_force
from refunddesk.policies.versions import published

router = Router(auth=[api_key_auth, user_token_auth], tags=["policy"])

MAX_FACTS = 200  # names in one evaluation's facts (contract v1 has about 40)


class PolicyRef(Schema):
    """Which published policy version: the policy's id and the version's number, as a string."""

    id: str
    version: str


class VersionOut(Schema):
    id: str
    version: str
    title: dict
    effective_at: dt.datetime
    major_change: bool
    document: str
    clauses: list[dict]


class EvaluateIn(Schema):
    facts: dict[str, Any] = Field(..., max_length=MAX_FACTS,
                                  description="contract v1 facts, nested or with dotted names (docs/architecture.md)")
    at: Timestamp | None = Field(None, description="decide with the version in force at this time (default now)")


class MoneyOut(Schema):
    amount: str
    currency: str


class TraceStepOut(Schema):
    clause: str
    matched: bool
    notes: list[str] | None = None


class DecisionOut(Schema):
    policy: PolicyRef
    outcome: str = Field(description="approve, reject, review or redirect: what a submission with these facts does")
    policy_outcome: str | None = Field(None, description="the policy's own outcome, when it differs from `outcome`")
    clause: str
    refund: MoneyOut | None
    explanation: dict[str, str]
    trace: list[TraceStepOut]


def policy_ref(version: PolicyVersion) -> dict[str, str]:
    """`{"id", "version"}` of a published version, the one shape the API gives it (module docstring)."""
    return {"id": version.policy_id, "version": str(version.version)}


def _in_force(at: dt.datetime | None = None) -> PolicyVersion:
    """The version in force at `at` (default now). Raises ConfigurationError (503) when none is published,
    ValidationError (422, field `at`) when `at` is before the first published version took effect."""
    version = version_in_force(at=at or timezone.now())
    if version is not None:
        return version
    first = published().first()
    if first is None:
        raise ConfigurationError(_("No refund policy is published yet."))
    if at is None:
        raise ConfigurationError(_("No refund policy is in force yet; the first one takes effect at %(when)s.")
                                 % {"when": first.effective_at.isoformat()})
    raise ValidationError(_("No policy version was in force at %(at)s; the first took effect at %(when)s.")
                          % {"at": at.isoformat(), "when": first.effective_at.isoformat()}, field="at")


@router.get("/policy", response={200: VersionOut, **errors(503)})
def policy_in_force(request: HttpRequest):
    """The version in force now: its document, title and clauses. 503 while no policy is published."""
    v = _in_force()
    policy = compiled(v)
    return {**policy_ref(v), "title": {"en": v.title_en, "zh-Hans": v.title_zh},
            "effective_at": v.effective_at, "major_change": v.major_change, "document": v.document,
            "clauses": policy.to_dict()["clauses"]}


@router.post("/policy/evaluate", response={200: DecisionOut, **errors(503)})
def evaluate(request: HttpRequest, payload: EvaluateIn):
    """Facts in (contract v1, nested or dotted names), decision out (the shape of `refunddesk policy evaluate`,
    with `policy.version` a string as everywhere in the API). The outcome is the effective one: exactly what a
    submission with these facts would do (policies.outcome: a store's order goes to the store, an approval of
    nothing to a person); `policy_outcome` is the policy's own when it differs. 422 for facts the policy cannot
    use (naming the fact) or an `at` before the first published version; 503 while no policy is published."""
    version = _in_force(payload.at)
    decision = engine.evaluate(compiled(version), payload.facts).to_json()
    return {**effective_json(decision, payload.facts), "policy": policy_ref(version)}


# --- what-if replay -------------------------------------------------------------------------------

MAX_DOCUMENT = 200_000  # characters of a draft (the shipped policies are about 10,000)
REPLAY_ROLES = (roles.POLICY_OWNER, roles.SUPERVISOR, roles.FINANCE)


class ReplayIn(Schema):
    document: str = Field(..., max_length=MAX_DOCUMENT, description="the draft policy document (YAML)")
    since: Day | None = Field(None, description="replay the requests submitted from this day on (the merchant's "
                                                "time zone); all when absent")
    limit: int = Field(100, ge=0, le=1000, description="requests listed per clause pair (counts are always exact)")


class ReplayRequestOut(Schema):
    request: str
    url: str
    currency: str
    old_outcome: str
    new_outcome: str
    old_amount: str | None
    new_amount: str | None
    old_amount_minor: int | None
    new_amount_minor: int | None


class ReplayGroupOut(Schema):
    old_clause: str
    new_clause: str
    count: int
    requests: list[ReplayRequestOut]


class ReplayMoneyOut(Schema):
    currency: str
    before: str = Field(description="approved automatically under the published versions (major units)")
    after: str = Field(description="approved automatically under the draft (major units)")
    difference: str
    before_minor: int
    after_minor: int
    difference_minor: int


class ReplayUnevaluableOut(Schema):
    request: str
    url: str
    fact: str = Field(description="the fact the draft reads that the stored facts lack")
    message: str


class ReplayOut(Schema):
    policy: dict[str, str]
    since: str | None
    until: str | None
    replayed: int = Field(description="requests decided again")
    counts: dict[str, dict[str, int]] = Field(description="effective outcomes {before: {...}, after: {...}}")
    money: list[ReplayMoneyOut]
    changed: int
    changes: list[ReplayGroupOut] = Field(description="requests whose outcome or amount changes, by clause pair")
    unevaluable: list[ReplayUnevaluableOut]


def _may_replay(request: HttpRequest) -> None:
    """A merchant API key, or the token of a policy owner, supervisor or finance (403 for anyone else)."""
    auth = request.auth
    if isinstance(auth, ApiKey):
        return
    if not any(roles.has_role(auth, role) for role in REPLAY_ROLES):
        raise PermissionDenied(_("A replay needs the merchant's API key or a policy owner's, supervisor's or "
                                 "finance token."), field="Authorization")


@router.post("/policy/replay", response={200: ReplayOut, **errors(403)})
def replay(request: HttpRequest, payload: ReplayIn):
    """What-if replay: the draft `document` decides again every request submitted since `since`, from the facts
    stored at its submission (refunds.replay). Answers counts by effective outcome before and after, the money
    approved automatically per currency before and after (exact: minor units and major-unit strings), the
    requests whose outcome or amount changes grouped by clause pair (old -> new) with their case links, and
    the requests the draft cannot evaluate with the fact they lack. Reads only. 422 (field `document`) for a
    draft that does not load; 403 for a customer's token."""
    _may_replay(request)
    since = None
    if payload.since is not None:
        since = timezone.make_aware(dt.datetime.combine(payload.since, dt.time.min))
    return replay_ask(document=payload.document, since=since, limit=payload.limit)

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

from refunddesk.core.api_errors import errors
from refunddesk.core.api_fields import Timestamp
from refunddesk.core.auth import api_key_auth, user_token_auth
from refunddesk.core.errors import ConfigurationError, ValidationError
from refunddesk.policies import engine
from refunddesk.policies.models import PolicyVersion
from refunddesk.policies.outcome import effective_json
from refunddesk.policies.services import compiled, version_in_force
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

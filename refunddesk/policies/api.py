"""Policy API for integrators: the version in force, and decisions on facts they send."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from refunddesk.core.auth import api_key_auth, user_token_auth
from refunddesk.core.errors import ConfigurationError
from refunddesk.policies import engine
from refunddesk.policies.services import compiled, version_in_force

router = Router(auth=[api_key_auth, user_token_auth], tags=["policy"])


class VersionOut(Schema):
    id: str
    version: str
    title: dict
    effective_at: dt.datetime
    major_change: bool
    document: str
    clauses: list[dict]


class EvaluateIn(Schema):
    facts: dict[str, Any]
    at: dt.datetime | None = None


def _in_force(at: dt.datetime | None = None):
    version = version_in_force(at=at or timezone.now())
    if version is None:
        raise ConfigurationError("no refund policy is published yet.")
    return version


@router.get("/policy", response=VersionOut)
def policy_in_force(request: HttpRequest):
    v = _in_force()
    policy = compiled(v)
    return {"id": v.policy_id, "version": v.version, "title": {"en": v.title_en, "zh-Hans": v.title_zh},
            "effective_at": v.effective_at, "major_change": v.major_change, "document": v.document,
            "clauses": policy.to_dict()["clauses"]}


@router.post("/policy/evaluate")
def evaluate(request: HttpRequest, payload: EvaluateIn):
    """Facts in (contract v1, nested or dotted names), decision out (the shape of `refunddesk policy evaluate`)."""
    version = _in_force(payload.at)
    return engine.evaluate(compiled(version), payload.facts).to_json()

"""Publishing policy versions and choosing the version that decides a request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from refunddesk.core.errors import ConfigurationError, ValidationError
from refunddesk.core.money import Money
from refunddesk.policies import engine, testing
from refunddesk.policies.models import PolicyVersion
from refunddesk.policies.versions import published

#: Sent to have a draft replayed over past requests (policies cannot read them; refunds answers in its
#: AppConfig.ready with refunds.replay.replay_summary). kwargs: document (YAML text), since (datetime or None),
#: limit (requests listed per clause pair); the answer is the summary dict (refunds.replay.ReplayResult.to_json).
replay_requested = Signal()

RULE_AT_PURCHASE = "at_purchase"
RULE_AT_REQUEST = "at_request"


@lru_cache(maxsize=64)
def _compiled(version_pk: int, checksum: str) -> engine.Policy:
    version = PolicyVersion.objects.only("document", "policy_id", "version").get(pk=version_pk)
    return engine.load_policy_text(version.document, f"{version.policy_id}@{version.version}")


def compiled(version: PolicyVersion) -> engine.Policy:
    """Compile once per version and process; published versions never change."""
    return _compiled(version.pk, version.checksum)


def version_in_force(*, at: dt.datetime) -> PolicyVersion | None:
    """The version in force at `at` (the last to take effect by then), or None. From the list each process
    holds (policies.versions: no query unless a version was published since); its document and cases are read
    from the database when first touched."""
    return published().in_force(at)


def version_for_order(*, purchased_at: dt.datetime, now: dt.datetime) -> PolicyVersion:
    """Which version decides: per settings.REFUNDDESK_POLICY_VERSION_RULE (default: at purchase)."""
    rule = getattr(settings, "REFUNDDESK_POLICY_VERSION_RULE", RULE_AT_PURCHASE)
    at = purchased_at if rule == RULE_AT_PURCHASE else now
    versions = published()
    version = versions.in_force(at)
    if version is None:
        # bought before the first published version: the earliest one applies
        first = versions.first()
        version = first if first is not None and first.effective_at <= now else None
    if version is None:
        raise ConfigurationError(
            "no refund policy is published yet; a policy owner must publish one "
            "(refunddesk policy publish FILE, or the console's policy page)."
        )
    return version


class VersionPicker:
    """`version_for_order` for many orders: its answer depends only on which published versions
    took effect by the purchase (and by `now`, fixed here), so it is asked once per distinct case."""

    def __init__(self, now: dt.datetime):
        self.now = now
        self.versions = published()
        self.cache: dict[int, PolicyVersion] = {}

    def for_order(self, purchased_at: dt.datetime) -> PolicyVersion:
        key = self.versions.count_by(purchased_at)
        version = self.cache.get(key)
        if version is None:
            version = self.cache[key] = version_for_order(purchased_at=purchased_at, now=self.now)
        return version


@dataclass(frozen=True)
class PolicyDecision:
    version: PolicyVersion
    outcome: str
    clause: str
    amount: Money | None
    explanation: dict
    trace: list
    review_business_days: int
    refund_business_days: int


def policy_decide(*, facts: dict, purchased_at: dt.datetime, now: dt.datetime) -> PolicyDecision:
    version = version_for_order(purchased_at=purchased_at, now=now)
    policy = compiled(version)
    decision = engine.evaluate(policy, facts)
    data = decision.to_json()
    return PolicyDecision(
        version=version, outcome=data["outcome"], clause=data["clause"], amount=decision.amount,
        explanation=data["explanation"], trace=data["trace"],
        review_business_days=policy.review_business_days or settings.REFUNDDESK_REVIEW_BUSINESS_DAYS,
        refund_business_days=policy.refund_business_days or settings.REFUNDDESK_REFUND_BUSINESS_DAYS,
    )


def policy_validate(*, document: str, cases: str, source: str = "draft") -> tuple[engine.Policy, testing.CaseReport]:
    """Load the document and run its cases; raise ValidationError if either fails."""
    try:
        policy = engine.load_policy_text(document, source)
    except engine.PolicyError as exc:
        raise ValidationError(str(exc), field="document") from None
    try:
        case_file = testing.load_cases_text(cases, f"{source}.cases")
    except testing.CasesError as exc:
        raise ValidationError(str(exc), field="cases") from None
    report = testing.run_cases(policy, case_file)
    if not report.ok:
        raise ValidationError(
            f"the policy's test cases do not pass: {report.summary()}", field="cases", failures=report.failure_lines()
        )
    return policy, report


def replay_ask(*, document: str, since: dt.datetime | None = None, limit: int | None = 50) -> dict:
    """The what-if replay of the draft `document` over the requests submitted since `since` (all when None):
    the summary dict of refunds.replay (counts before/after, money per currency in minor units and major-unit
    strings, changed requests by clause pair with at most `limit` listed per pair, the requests it cannot
    evaluate). {} when no app answers. Raises ValidationError (field document) for a document that does not
    load."""
    for _receiver, answer in replay_requested.send(sender=None, document=document, since=since, limit=limit):
        if answer is not None:
            return answer
    return {}


@transaction.atomic
def policy_publish(
    *, document: str, cases: str, effective_at: dt.datetime | None = None, major_change: bool = False,
    change_note: str = "", user=None, replay: dict | None = None, replay_since: dt.datetime | None = None,
) -> PolicyVersion:
    """Publish a document only when it validates and its test cases pass (and reach every clause). The version
    stores its what-if replay (`replay`, the summary of refunds.replay computed beforehand, e.g. by the console's
    background run; else computed here over the requests submitted since `replay_since`, all by default)."""
    policy, _ = policy_validate(document=document, cases=cases, source="publish")
    if PolicyVersion.objects.filter(policy_id=policy.id, version=str(policy.version)).exists():
        raise ValidationError(
            f"{policy.id} version {policy.version} is already published; published versions never change. "
            "Raise the version number in the document.", field="version",
        )
    now = timezone.now()
    effective_at = effective_at or now
    if replay is None:
        replay = replay_ask(document=document, since=replay_since)
    version = PolicyVersion.objects.create(
        policy_id=policy.id, version=str(policy.version), title_en=policy.title.en,
        title_zh=policy.title.zh, document=document, cases=cases, effective_at=effective_at,
        major_change=major_change, change_note=change_note, published_by=user, replay=replay,
    )
    if major_change:
        from refunddesk.policies.tasks import policy_change_notify

        policy_change_notify.enqueue(version_id=version.pk)
    return version

"""What-if replay: past requests decided again under a draft policy, from the facts stored at submission.

Every request stores the facts its decision was made on (`RefundRequest.facts`, contract v1, written once:
`RefundRequest.SUBMISSION_RECORD`). `replay` evaluates a draft policy (a compiled `engine.Policy`, not yet
published) on those facts and compares each new decision with the stored one:

* outcomes are the *effective* ones on both sides (policies.outcome.effective_outcome: a store order goes to
  the store, an approval of nothing to a person), exactly what a submission would have done;
* money is what the policy would have approved automatically: the refund amount of every request whose
  effective outcome is approve, summed per currency in integer minor units (exact; never converted);
* a request *changes* when its effective outcome or its refund amount differs; changes are grouped by the
  clause pair (old clause -> new clause);
* a request the draft cannot evaluate (it reads a fact the stored facts lack: a fact added to the contract
  after the request was decided, e.g. usage.since_request_days) is named with the fact, never guessed.

The engine is pure (no Django); this module reads the requests in chunks (`iterator`) and never writes.
`replay_run_execute` is the background form for the console (a `policies.ReplayRun` row with its progress).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from refunddesk.core.money import exponent
from refunddesk.policies import engine
from refunddesk.policies.outcome import effective_outcome
from refunddesk.refunds.models import RefundRequest

OUTCOMES = ("approve", "reject", "review", "redirect")
CHUNK = 2000


def _major(minor: int, currency: str) -> str:
    exp = exponent(currency)
    return str(Decimal(minor).scaleb(-exp).quantize(Decimal(1).scaleb(-exp)))


@dataclass(frozen=True, slots=True)
class Change:
    """One request whose effective outcome or refund amount differs under the draft (amounts in minor units
    of `currency`, None when not approving)."""

    public_id: str
    currency: str
    old_outcome: str
    new_outcome: str
    old_clause: str
    new_clause: str
    old_amount_minor: int | None
    new_amount_minor: int | None

    @property
    def url(self) -> str:
        """The case page in the console."""
        return reverse("console:case", args=[self.public_id])

    def to_json(self) -> dict[str, Any]:
        money = {k: (None if v is None else _major(v, self.currency))
                 for k, v in (("old_amount", self.old_amount_minor), ("new_amount", self.new_amount_minor))}
        return {"request": self.public_id, "url": self.url, "currency": self.currency,
                "old_outcome": self.old_outcome, "new_outcome": self.new_outcome, **money,
                "old_amount_minor": self.old_amount_minor, "new_amount_minor": self.new_amount_minor}


@dataclass
class ReplayResult:
    """What the draft would have changed. `money_before` / `money_after`: {currency: minor units}."""

    policy_id: str
    policy_version: str
    since: dt.datetime | None
    until: dt.datetime | None
    total: int = 0
    before: Counter = field(default_factory=Counter)
    after: Counter = field(default_factory=Counter)
    money_before: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    money_after: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    changes: list[Change] = field(default_factory=list)
    unevaluable: list[dict[str, str]] = field(default_factory=list)  # {request, fact, message}

    @property
    def groups(self) -> list[tuple[str, str, list[Change]]]:
        """Changes by (old clause, new clause), the biggest group first, then by clause ids."""
        by_pair: dict[tuple[str, str], list[Change]] = defaultdict(list)
        for change in self.changes:
            by_pair[(change.old_clause, change.new_clause)].append(change)
        return [(a, b, rows) for (a, b), rows in sorted(by_pair.items(), key=lambda kv: (-len(kv[1]), kv[0]))]

    def to_json(self, *, limit: int | None = None) -> dict[str, Any]:
        """The summary stored with a published version and answered by the API and the command: counts
        {outcome: n} before/after; money [{currency, before, after, difference}] in major units (decimal
        strings) and minor units; changes grouped by clause pair (at most `limit` requests listed per group,
        `count` always exact); the requests that could not be evaluated."""
        currencies = sorted(set(self.money_before) | set(self.money_after))
        money = []
        for cur in currencies:
            b, a = self.money_before.get(cur, 0), self.money_after.get(cur, 0)
            money.append({"currency": cur, "before": _major(b, cur), "after": _major(a, cur),
                          "difference": _major(a - b, cur) if a >= b else "-" + _major(b - a, cur),
                          "before_minor": b, "after_minor": a, "difference_minor": a - b})
        groups = [{"old_clause": a, "new_clause": b, "count": len(rows),
                   "requests": [c.to_json() for c in (rows if limit is None else rows[:limit])]}
                  for a, b, rows in self.groups]
        return {
            "policy": {"id": self.policy_id, "version": self.policy_version},
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "replayed": self.total,
            "counts": {"before": {o: self.before.get(o, 0) for o in OUTCOMES},
                       "after": {o: self.after.get(o, 0) for o in OUTCOMES}},
            "money": money,
            "changed": len(self.changes),
            "changes": groups,
            "unevaluable": self.unevaluable,
        }


def requests_to_replay(*, since: dt.datetime | None = None, until: dt.datetime | None = None):
    """The requests a replay decides again: those submitted in [since, until) that the policy decided (a stored
    decision and facts), oldest first."""
    qs = RefundRequest.objects.exclude(policy_outcome="").exclude(facts={})
    if since is not None:
        qs = qs.filter(submitted_at__gte=since)
    if until is not None:
        qs = qs.filter(submitted_at__lt=until)
    return qs


def replay(policy: engine.Policy, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
           progress: Callable[[int, int], None] | None = None, chunk: int = CHUNK) -> ReplayResult:
    """Decide again, under the draft `policy`, every request submitted in [since, until) from its stored facts,
    and compare (module docstring). `progress(done, total)` is called after each chunk. Reads only; raises
    nothing for a request the draft cannot evaluate (it is listed in `unevaluable`)."""
    qs = requests_to_replay(since=since, until=until)
    total = qs.count() if progress is not None else 0
    result = ReplayResult(policy_id=policy.id, policy_version=str(policy.version), since=since, until=until)
    rows = (qs.order_by("submitted_at", "id")
            .values_list("public_id", "currency", "policy_outcome", "policy_clause", "policy_amount_minor", "facts",
                         "order__sales_channel")
            .iterator(chunk_size=chunk))
    done = 0
    for public_id, currency, old_policy_outcome, old_clause, old_minor, facts, channel in rows:
        if isinstance(facts, str):  # a JSON column some backends hand back as text
            facts = json.loads(facts)
        old_outcome = effective_outcome(outcome=old_policy_outcome, amount_minor=old_minor, sales_channel=channel)
        old_amount = old_minor if old_outcome == "approve" else None
        try:
            decision = engine.evaluate(policy, facts)
        except engine.EvaluationError as exc:
            result.unevaluable.append({"request": public_id, "url": reverse("console:case", args=[public_id]),
                                       "fact": getattr(exc, "fact", None) or "", "message": str(exc)})
        else:
            new_minor = decision.refund.minor if decision.refund is not None else None
            new_outcome = effective_outcome(outcome=decision.outcome, amount_minor=new_minor, sales_channel=channel)
            new_amount = new_minor if new_outcome == "approve" else None
            result.total += 1
            result.before[old_outcome] += 1
            result.after[new_outcome] += 1
            if old_amount is not None:
                result.money_before[currency] += old_amount
            if new_amount is not None:
                result.money_after[currency] += new_amount
            if old_outcome != new_outcome or old_amount != new_amount:
                result.changes.append(Change(public_id, currency, old_outcome, new_outcome, old_clause,
                                             decision.clause, old_amount, new_amount))
        done += 1
        if progress is not None and done % chunk == 0:
            progress(done, total)
    if progress is not None:
        progress(done, total)
    return result


def replay_document(*, document: str, since: dt.datetime | None = None, until: dt.datetime | None = None,
                    progress: Callable[[int, int], None] | None = None) -> ReplayResult:
    """`replay` of a draft given as YAML text. Raises ValidationError (field `document`) when it does not
    load."""
    from refunddesk.core.errors import ValidationError

    try:
        policy = engine.load_policy_text(document, "draft")
    except engine.PolicyError as exc:
        raise ValidationError(str(exc), field="document") from None
    return replay(policy, since=since, until=until, progress=progress)


def replay_summary(*, document: str, since: dt.datetime | None = None, limit: int | None = 50) -> dict[str, Any]:
    """The JSON summary (`ReplayResult.to_json`, at most `limit` requests listed per clause pair) of the draft
    `document` over the requests submitted since `since`: what a published version stores (answers
    policies.services.replay_requested)."""
    return replay_document(document=document, since=since).to_json(limit=limit)


# --- the background form (the console's progress bar) -----------------------------------------------


@transaction.atomic
def replay_run_start(*, document: str, since: dt.datetime | None, user=None):
    """Queue a background replay of the draft `document` over the requests submitted since `since`; returns
    the policies.ReplayRun row (its progress is written as it runs). Raises ValidationError (field document)
    when the draft does not load, before anything is written."""
    from refunddesk.policies.models import ReplayRun
    from refunddesk.refunds.tasks import policy_replay_run

    try:
        engine.load_policy_text(document, "draft")
    except engine.PolicyError as exc:
        from refunddesk.core.errors import ValidationError

        raise ValidationError(str(exc), field="document") from None
    run = ReplayRun.objects.create(document=document, checksum=ReplayRun.checksum_of(document), since=since,
                                   total=requests_to_replay(since=since).count(), created_by=user)
    policy_replay_run.enqueue(run_id=run.pk)  # in this transaction: the job exists exactly when the run does
    return run


def replay_inline_limit() -> int:
    """Replays of more requests than this run in the background (settings.REFUNDDESK_REPLAY_INLINE_LIMIT)."""
    return settings.REFUNDDESK_REPLAY_INLINE_LIMIT


def replay_run_for(document: str):
    """The latest finished background replay of exactly this document, or None."""
    from refunddesk.policies.models import ReplayRun

    return (ReplayRun.objects.filter(checksum=ReplayRun.checksum_of(document), status=ReplayRun.DONE)
            .order_by("-finished_at", "-id").first())


def replay_run_execute(*, run_id: int) -> None:
    """Run the stored replay `run_id` (policies.ReplayRun), writing its progress as it goes and its summary (or
    its problem) at the end. Idempotent: a finished run is left alone."""
    from refunddesk.core.errors import ApplicationError
    from refunddesk.policies.models import ReplayRun

    run = ReplayRun.objects.filter(pk=run_id).first()
    if run is None or run.status in (ReplayRun.DONE, ReplayRun.FAILED):
        return
    ReplayRun.objects.filter(pk=run_id).update(status=ReplayRun.RUNNING, started_at=timezone.now())

    def progress(done: int, total: int) -> None:
        with transaction.atomic():
            ReplayRun.objects.filter(pk=run_id).update(done=done, total=total)

    try:
        result = replay_document(document=run.document, since=run.since, progress=progress)
    except ApplicationError as exc:
        ReplayRun.objects.filter(pk=run_id).update(status=ReplayRun.FAILED, problem=str(exc.message),
                                                   finished_at=timezone.now())
        return
    ReplayRun.objects.filter(pk=run_id).update(status=ReplayRun.DONE, result=result.to_json(limit=200),
                                               done=result.total + len(result.unevaluable),
                                               finished_at=timezone.now())

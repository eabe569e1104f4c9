"""Outage compensation: refund requests, in bulk, for every order an outage affected.

`refunddesk outage compensate INCIDENT_ID` and the console's button (a background task)
both call `compensation_execute`.

Which orders
------------
Customers in the incident's regions whose order was active during the incident: bought
before the incident ended (or now, while it goes on), paid period not over before it
started (`purchased_at + plan.period_days > started_at`), bought on the web (store
purchases are the store's business), not fully refunded, service not ended before the
incident. Skipped (counted as `skipped`): an order that already has an open request, one
whose customer already asked about an outage since the incident started
(reason `service_outage`), and one that a compensation for this incident already handled
(a `CompensationItem` with a request for this incident: the database refuses a second one).

How each order is decided
-------------------------
Exactly as a customer's own submission with reason `service_outage` would be, through the one way in
(`refunds.intake`): `decide_orders` (the facts of contract v1 for the whole batch in a few queries, the
policy version that applies to each order, its evaluation and the effective outcome), then

* approve / review (and redirect, which a web order turns into review): `intake.request_fields` builds
  each request's row, and `intake.requests_create` inserts them and their `submit` timeline events in
  bulk (core.bulk.insert_rows: the same rows and constraints as a single submission). The decisions are
  then applied by `intake.decisions_apply` (the move to approved or in review, the deadline, the
  customer's email, the refund for approvals) in the background task `compensation_apply`, one per
  batch, enqueued in the batch's transaction, so the slow per-request part runs on as many workers as
  there are.
* reject: nothing is created (the customer did not ask, and a refusal nobody asked for is
  noise); counted as `rejected`.

Resumable, and shared by several processes
------------------------------------------
Orders are taken in id order, in batches. Each batch is one transaction that locks its orders
(PostgreSQL: FOR UPDATE SKIP LOCKED, so processes sharing the run take different orders), creates
the requests, records an item for *every* order it looked at (the request, or why none: the
refusing clause, or the reason it was skipped), enqueues the follow-up and adds to the run's
counters. An order with an item is done; a run that was killed continues with the orders that
have none (whatever the batch that died had taken is not committed, so it is taken again).
`refunddesk outage compensate --workers N` runs N processes on one run. The items are unique per
(run, order), and a request per (incident, order) (constraints), besides the one open request per
order of the refunds app.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from refunddesk.billing.models import Customer, Order, Plan, SalesChannel
from refunddesk.core.bulk import insert_rows
from refunddesk.policies.models import PolicyVersion
from refunddesk.policies.services import VersionPicker, compiled, version_in_force
from refunddesk.refunds import intake
from refunddesk.refunds.facts import ORDER_FIELDS, Row, plan_table
from refunddesk.refunds.models import Reason, RefundRequest
from refunddesk.refunds.states import OPEN, Actor, Status
from refunddesk.status.models import CompensationItem, CompensationRun, Incident, RunStatus, Severity
from refunddesk.status.selectors import outage_fact_for_region

log = logging.getLogger(__name__)

REASON = Reason.SERVICE_OUTAGE
DEFAULT_BATCH = 1000
# A running run whose process has not reported for this long is taken to be dead.
STALE_AFTER = dt.timedelta(minutes=2)


class CompensationInterrupted(RuntimeError):
    """Raised by `--stop-after N` once N orders are committed: a real interruption, for tests."""


# --- is the incident worth compensating? --------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason: str
    threshold_hours: float | None
    outage_hours: float
    force_majeure: bool


def outage_threshold_hours(version: PolicyVersion) -> float | None:
    """The smallest `outage.longest_hours >= N` (or `> N`) that an approving clause of the policy asks for.

    Asked of the compiled policy (`Policy.thresholds`, which reads the conditions' syntax trees: the
    policy is data); None when no approving clause compares the outage length with a number. Only
    used to decide whether a run is worth starting: each order is still decided by evaluating the
    whole policy.
    """
    found = compiled(version).thresholds("outage.longest_hours", outcome="approve")
    return float(found[0]) if found else None


def incident_outage(incident: Incident, *, now: dt.datetime) -> tuple[float, bool]:
    """Longest continuous outage (hours, force majeure) in the incident's regions while it lasted."""
    end = incident.ended_at or now
    hours, fm = 0.0, False
    for code in incident.regions.values_list("code", flat=True):
        fact = outage_fact_for_region(region=code, since=incident.started_at, now=end)
        if (fact.longest_hours, not fact.force_majeure) > (hours, not fm):
            hours, fm = fact.longest_hours, fact.force_majeure
    return hours, fm


def eligibility(incident: Incident, *, now: dt.datetime | None = None) -> Eligibility:
    now = now or timezone.now()
    version = version_in_force(at=now)
    threshold = outage_threshold_hours(version) if version is not None else None
    hours, fm = incident_outage(incident, now=now)

    def answer(ok: bool, reason: str) -> Eligibility:
        return Eligibility(ok, reason, threshold, hours, fm)

    if version is None:
        return answer(False, _("No refund policy is published yet."))
    if threshold is None:
        return answer(False, _("The policy in force (%(policy)s) refunds no outage.") % {"policy": version})
    if incident.severity != Severity.OUTAGE:
        return answer(False, _("A degraded service is not an outage; the policy refunds outages only."))
    if fm:
        return answer(False, _("This outage was caused by force majeure, which the policy does not refund."))
    if hours < threshold:
        return answer(False, _("The outage lasted %(hours).1f hours; the policy refunds from %(threshold)g hours.")
                      % {"hours": hours, "threshold": threshold})
    return answer(True, _("The outage lasted %(hours).1f hours; the policy refunds from %(threshold)g hours.")
                  % {"hours": hours, "threshold": threshold})


def is_stale(run: CompensationRun, now: dt.datetime) -> bool:
    seen = run.heartbeat_at or run.started_at or run.created_at
    return seen is None or now - seen > STALE_AFTER


# --- which orders -------------------------------------------------------------------------


def affected_orders(incident: Incident, *, regions: list[str], now: dt.datetime):
    start, end = incident.started_at, incident.ended_at or now
    periods = sorted(set(Plan.objects.values_list("period_days", flat=True)))
    if not periods or not regions:
        return Order.objects.none()
    active = Q()
    for days in periods:  # paid period not over before the incident started
        active |= Q(plan__period_days=days, purchased_at__gt=start - dt.timedelta(days=days))
    return (
        Order.objects.filter(active, customer__region__in=regions, purchased_at__lt=end,
                             sales_channel=SalesChannel.WEB, refunded_minor__lt=F("amount_minor"))
        .exclude(service_ended_at__lt=start)
    )


# --- the run ------------------------------------------------------------------------------


@dataclass
class BatchResult:
    processed: int = 0
    created: int = 0
    approved: int = 0
    review: int = 0
    rejected: int = 0
    skipped: int = 0
    last_order_id: int = 0
    request_ids: list[int] | None = None


Progress = Callable[[CompensationRun, int, float], None]


def compensation_execute(
    *, run_id: int, batch_size: int = DEFAULT_BATCH, stop_after: int | None = None,
    progress: Progress | None = None,
) -> CompensationRun:
    """Run (or continue, or help another process with) a compensation run to the end. See the module docs.

    `stop_after`: raise CompensationInterrupted once at least that many orders were committed
    by this call (a real interruption at a chosen point, for tests). `progress(run, done, secs)`
    is called after every batch with the orders this call processed and the seconds it took.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        run = CompensationRun.objects.select_for_update(of=("self",), no_key=True).select_related("incident").get(pk=run_id)
        if run.status == RunStatus.DONE:
            return run
        incident = run.incident
        regions = list(incident.regions.values_list("code", flat=True))
        remaining = unprocessed_orders(incident, regions=regions, run_id=run.pk, now=now).count()
        if run.status != RunStatus.RUNNING or is_stale(run, now):  # not joining a live process: the rate restarts
            run.resumed_at, run.processed_at_resume = now, run.processed
        run.attempts += 1  # processes that took the run up
        run.status, run.error = RunStatus.RUNNING, ""
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        run.total = run.processed + remaining
        run.save()
    done_here = 0
    plans = plan_table()
    # The ids still to look at, read once per pass (a narrow query); each batch then locks and reads
    # its own slice by id. Asking the database for "the next 1000 unprocessed" instead made it find
    # and sort every remaining order for every batch: quadratic in the size of the run.
    pending: list[int] = []
    at, progressed = 0, True
    try:
        while True:
            if at >= len(pending):
                if CompensationRun.objects.filter(pk=run.pk, status=RunStatus.DONE).exists():
                    break
                if not progressed:  # the last pass only met orders other processes held: let them work
                    time.sleep(0.2)
                pending = list(unprocessed_orders(incident, regions=regions, run_id=run.pk, now=timezone.now())
                               .order_by("id").values_list("id", flat=True))
                at, progressed = 0, False
                if not pending:
                    break
            ids = pending[at:at + batch_size]
            at += batch_size
            result = _batch(run_id=run.pk, incident=incident, regions=regions, plans=plans, candidates=ids)
            if result is None:
                continue  # done meanwhile, or held by another process
            progressed = True
            done_here += result.processed
            if progress is not None:
                run.refresh_from_db()
                progress(run, done_here, time.monotonic() - started)
            if stop_after is not None and done_here >= stop_after:
                raise CompensationInterrupted(f"stopped after {done_here} orders (--stop-after {stop_after})")
    except BaseException as exc:
        CompensationRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], heartbeat_at=timezone.now())
        raise
    end = timezone.now()
    CompensationRun.objects.filter(pk=run.pk).exclude(status=RunStatus.DONE).update(
        status=RunStatus.DONE, finished_at=end, heartbeat_at=end, total=F("processed"))
    run.refresh_from_db()
    if progress is not None:
        progress(run, done_here, time.monotonic() - started)
    return run


def unprocessed_orders(incident: Incident, *, regions: list[str], run_id: int, now: dt.datetime):
    """The affected orders this run has not looked at yet (no item)."""
    done = CompensationItem.objects.filter(run_id=run_id, order_id=OuterRef("pk"))
    return affected_orders(incident, regions=regions, now=now).filter(~Exists(done))


def _descriptions(incident: Incident) -> dict[str, str]:
    out = {}
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            out[lang] = _("Opened automatically to compensate for the outage “%(title)s” (incident "
                          "%(id)s) in your region.") % {"title": incident.title(lang), "id": incident.pk}
    return out


def _lock_orders(qs):
    """Lock the orders taken (PostgreSQL), skipping any another process has taken: they share the run."""
    features = connection.features
    if not features.has_select_for_update:
        return qs  # SQLite: the write transaction locks the whole database anyway
    return qs.select_for_update(of=("self",) if features.has_select_for_update_of else (),
                                skip_locked=features.has_select_for_update_skip_locked,
                                no_key=features.has_select_for_no_key_update)


def _batch(*, run_id: int, incident: Incident, regions: list[str], plans: dict,
           candidates: list[int]) -> BatchResult | None:
    from refunddesk.status.tasks import compensation_apply

    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A batch lost in a crash is simply done again (resumable, one request per order), so its
            # commit need not wait for the disk; what is committed stays consistent either way.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        run = CompensationRun.objects.only("status").get(pk=run_id)
        if run.status == RunStatus.DONE:
            return None
        now = timezone.now()
        qs = unprocessed_orders(incident, regions=regions, run_id=run_id, now=now).filter(id__any_of=candidates).order_by("id")
        rows = [Row(*values) for values in _lock_orders(qs).values_list(*ORDER_FIELDS)]
        if not rows:
            return None
        # Another process may have committed some of these between our snapshot and our lock: now that
        # we hold the locks, a fresh look at the items tells (READ COMMITTED: each query sees the latest).
        seen = set(CompensationItem.objects.filter(run_id=run_id, order_id__any_of=[r.id for r in rows])
                   .values_list("order_id", flat=True))
        last_order_id = rows[-1].id
        rows = [r for r in rows if r.id not in seen]
        result = BatchResult(processed=len(rows), last_order_id=last_order_id)
        if not rows:
            return result
        ids = [r.id for r in rows]
        taken = {order_id: "compensated" for order_id in CompensationItem.objects.filter(
            incident=incident, order_id__any_of=ids, request__isnull=False).values_list("order_id", flat=True)}
        for order_id, reason in (RefundRequest.objects.filter(order_id__any_of=ids)
                                 .filter(Q(status__in=sorted(OPEN)) | Q(reason=REASON,
                                                                        submitted_at__gte=incident.started_at))
                                 .values_list("order_id", "status")):
            taken.setdefault(order_id, "open_request" if reason in OPEN else "asked")
        todo = [r for r in rows if r.id not in taken]
        result.skipped = len(rows) - len(todo)
        items = [{"incident_id": incident.pk, "order_id": order_id, "run_id": run_id, "request_id": None,
                  "outcome": "skipped", "clause": why, "at": now} for order_id, why in taken.items()]

        decided = intake.decide_orders(todo, reason=REASON, now=now, plans=plans, versions=VersionPicker(now))
        languages = dict(Customer.objects.filter(id__any_of=sorted({r.customer_id for r in todo}))
                         .values_list("id", "language"))
        descriptions = _descriptions(incident)
        requests, outcomes = [], {}
        for r in todo:
            decision = decided[r.id]
            if decision.outcome == "reject":
                result.rejected += 1
                items.append({"incident_id": incident.pk, "order_id": r.id, "run_id": run_id, "request_id": None,
                              "outcome": "reject", "clause": decision.clause, "at": now})
                continue
            lang = intake.request_language(None, languages.get(r.customer_id))
            requests.append(intake.request_fields(row=r, decided=decision, reason=REASON,
                                                  description=descriptions[lang], language=lang, now=now))
            # what intake.decision_apply will do with it: approve, or a person (review)
            outcomes[r.id] = ("approve" if decision.outcome == "approve" else "review", decision.clause)

        created = [(req, outcomes[req["order_id"]]) for req in intake.requests_create(
            requests, actor_kind=Actor.SYSTEM, now=now,
            event_data={"compensation": {"incident": incident.pk, "run": run_id}})]
        made = {req["order_id"] for req, _ in created}
        items += [{"incident_id": incident.pk, "order_id": req["order_id"], "run_id": run_id, "request_id": req["id"],
                   "outcome": outcome, "clause": clause, "at": now} for req, (outcome, clause) in created]
        items += [{"incident_id": incident.pk, "order_id": req["order_id"], "run_id": run_id, "request_id": None,
                   "outcome": "skipped", "clause": "open_request", "at": now}
                  for req in requests if req["order_id"] not in made]  # a request appeared meanwhile
        insert_rows(CompensationItem, items, now=now)
        result.created = len(created)
        result.approved = sum(1 for _, (o, _c) in created if o == "approve")
        result.review = result.created - result.approved
        result.skipped += len(requests) - len(created)
        result.request_ids = [req["id"] for req, _ in created]
        if result.request_ids:
            compensation_apply.enqueue(run_id=run_id, request_ids=result.request_ids)
        # last: the run row stays locked (by this update) only until the commit
        CompensationRun.objects.filter(pk=run_id).update(
            processed=F("processed") + result.processed,
            last_order_id=Greatest(F("last_order_id"), Value(result.last_order_id)),
            created=F("created") + result.created, approved=F("approved") + result.approved,
            review=F("review") + result.review, rejected=F("rejected") + result.rejected,
            skipped=F("skipped") + result.skipped, heartbeat_at=now)
    return result


# --- the follow-up: the refunds app applies each decision ----------------------------------


def apply_decisions(*, run_id: int | None, request_ids: list[int]) -> int:
    """Move each created request on exactly as a submission does (refunds.intake.decisions_apply: emails,
    deadlines, the refund; an approval the money refuses goes to a person). Idempotent."""
    applied = intake.decisions_apply(request_ids)
    if run_id is not None and applied:
        CompensationRun.objects.filter(pk=run_id).update(applied=F("applied") + applied)
    return applied


def pending_request_ids(run: CompensationRun) -> list[int]:
    """Requests of the run still waiting for their follow-up (e.g. its task was lost)."""
    return list(RefundRequest.objects.filter(
        status=Status.SUBMITTED,
        pk__in=CompensationItem.objects.filter(run=run).values("request_id")).values_list("pk", flat=True))


"""Writes on regions and incidents (console, API and command line all come here).

Every function is keyword-only, validates before it writes, and raises a
`core.errors.ValidationError` naming the field at fault. Changes reach the public
status page through the "last change" stamp (signals in apps.py bump it on commit).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refunddesk.core.errors import Conflict, NotFound, ValidationError
from refunddesk.status.models import (
    UNFINISHED,
    CompensationRun,
    Incident,
    IncidentUpdate,
    Region,
    RunStatus,
    Severity,
    UpdateKind,
)

# Monitoring clocks drift; an incident may start this far in the future, no further.
CLOCK_SKEW = dt.timedelta(minutes=5)
# Nothing we track happened before this.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
TITLE_MAX = 200
_REGION_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


# --- validation helpers ----------------------------------------------------------------


def _text(value: str | None, field: str, *, required: bool, max_length: int | None = None) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(_("This field is required."), field=field)
    if max_length is not None and len(text) > max_length:
        raise ValidationError(
            _("Keep it under %(max)d characters (it has %(n)d).") % {"max": max_length, "n": len(text)}, field=field)
    return text


def _when(value: dt.datetime | None, field: str, *, now: dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationError(_("Give a date and time."), field=field)
    if timezone.is_naive(value):
        raise ValidationError(_("Give the time zone too (for example 2026-05-01T08:00:00+08:00)."), field=field)
    if value > now + CLOCK_SKEW:
        raise ValidationError(
            _("%(when)s is in the future; an incident is recorded when it happens.") % {"when": value.isoformat()},
            field=field)
    if value < EARLIEST:
        raise ValidationError(_("%(when)s is too far in the past.") % {"when": value.isoformat()}, field=field)
    return value


def _severity(value: str | None) -> str:
    if value not in Severity.values:
        raise ValidationError(
            _("Choose a severity: %(choices)s.") % {"choices": ", ".join(Severity.values)}, field="severity")
    return value


def _kind(value: str | None) -> str:
    value = value or UpdateKind.UPDATE
    if value not in UpdateKind.values:
        raise ValidationError(
            _("Choose a kind of update: %(choices)s.") % {"choices": ", ".join(UpdateKind.values)}, field="kind")
    return value


def _regions(codes: Iterable[str] | None) -> list[Region]:
    wanted = sorted({(c or "").strip() for c in (codes or []) if (c or "").strip()})
    if not wanted:
        raise ValidationError(_("Name at least one region the incident affects."), field="regions")
    found = {r.code: r for r in Region.objects.filter(code__in=wanted)}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        known = ", ".join(Region.objects.values_list("code", flat=True)) or _("none yet")
        raise ValidationError(
            _("Unknown region(s): %(unknown)s. Known regions: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": known}, field="regions")
    return [found[c] for c in wanted]


def _force_majeure(flag: bool, note: str | None) -> tuple[bool, str]:
    note = _text(note, "force_majeure_note", required=False, max_length=2000)
    if flag and not note:
        raise ValidationError(
            _("Say what the force majeure was (customers are not refunded for it, so they deserve to know)."),
            field="force_majeure_note")
    return bool(flag), note


# An incident's optional free texts and their length limits (the force-majeure note in English goes through
# _force_majeure: it is required with the flag).
_FREE_TEXTS = {"cause": 5000, "cause_zh": 5000, "force_majeure_note_zh": 2000}


def _free_texts(**given: str | None) -> dict[str, str]:
    """The free texts that were given (None: not given), checked."""
    return {name: _text(value, name, required=False, max_length=_FREE_TEXTS[name])
            for name, value in given.items() if value is not None}


def _lock(incident_id: int) -> Incident:
    incident = Incident.objects.select_for_update(no_key=True).filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(_("There is no incident %(id)s.") % {"id": incident_id}, field="incident")
    return incident


def _add_update(incident: Incident, *, message_en: str, message_zh: str, kind: str, author: str,
                at: dt.datetime) -> IncidentUpdate:
    message_en = _text(message_en, "message_en", required=False, max_length=5000)
    message_zh = _text(message_zh, "message_zh", required=False, max_length=5000)
    if not message_en and not message_zh:
        raise ValidationError(_("Write the update (in English, Chinese or both)."), field="message_en")
    # one language given: the page shows it in both rather than nothing
    return IncidentUpdate.objects.create(
        incident=incident, at=at, message_en=message_en or message_zh, message_zh=message_zh or message_en,
        kind=kind, author=author[:120],
    )


# --- regions ----------------------------------------------------------------------------


@transaction.atomic
def region_upsert(*, code: str, name_en: str, name_zh: str = "", position: int = 0) -> tuple[Region, bool]:
    """Create or rename a region. Returns (region, created)."""
    code = (code or "").strip()
    if not _REGION_CODE.match(code):
        raise ValidationError(
            _("A region code is 1-32 lower-case letters, digits, '-' or '_' (for example cn-east)."), field="code")
    name_en = _text(name_en, "name_en", required=True, max_length=100)
    name_zh = _text(name_zh, "name_zh", required=False, max_length=100) or name_en
    if position < 0:
        raise ValidationError(_("The position must be zero or more."), field="position")
    region, created = Region.objects.select_for_update().get_or_create(
        code=code, defaults={"name_en": name_en, "name_zh": name_zh, "position": position})
    if not created and (region.name_en, region.name_zh, region.position) != (name_en, name_zh, position):
        region.name_en, region.name_zh, region.position = name_en, name_zh, position
        region.save()
    return region, created


# --- incidents --------------------------------------------------------------------------


def incident_open(
    *, title_en: str, title_zh: str = "", regions: Sequence[str], severity: str = Severity.OUTAGE,
    cause: str = "", force_majeure: bool = False, force_majeure_note: str = "", cause_zh: str = "",
    force_majeure_note_zh: str = "", started_at: dt.datetime | None = None, ended_at: dt.datetime | None = None,
    message_en: str = "", message_zh: str = "", external_ref: str = "", user=None, source: str = "",
    now: dt.datetime | None = None,
) -> tuple[Incident, bool]:
    """Open an incident (or record a past one, with `ended_at`). Returns (incident, created).

    With `external_ref` (the monitoring system's alert id) opening is idempotent: the same
    ref returns the incident opened the first time, unchanged.
    """
    now = now or timezone.now()
    external_ref = _text(external_ref, "external_ref", required=False, max_length=200)
    if external_ref:
        existing = Incident.objects.filter(external_ref=external_ref).first()
        if existing is not None:
            return existing, False
    title_en = _text(title_en, "title_en", required=True, max_length=TITLE_MAX)
    title_zh = _text(title_zh, "title_zh", required=False, max_length=TITLE_MAX) or title_en
    severity = _severity(severity)
    started_at = _when(started_at if started_at is not None else now, "started_at", now=now)
    if ended_at is not None:
        ended_at = _when(ended_at, "ended_at", now=now)
        if ended_at <= started_at:
            raise ValidationError(_("The end must come after the start."), field="ended_at")
    texts = _free_texts(cause=cause, cause_zh=cause_zh, force_majeure_note_zh=force_majeure_note_zh)
    fm, fm_note = _force_majeure(force_majeure, force_majeure_note)
    source = (source or (f"console:{user.get_username()}" if user is not None else ""))[:120]
    try:
        with transaction.atomic():
            region_rows = _regions(regions)
            incident = Incident.objects.create(
                title_en=title_en, title_zh=title_zh, severity=severity, force_majeure=fm,
                force_majeure_note=fm_note, started_at=started_at, ended_at=ended_at, created_by=user,
                created_at=now, source=source, external_ref=external_ref, **texts,
            )
            incident.regions.set(region_rows)
            # a past incident recorded afterwards: its updates are dated when they happened
            if message_en or message_zh:
                _add_update(incident, message_en=message_en, message_zh=message_zh, kind=UpdateKind.INVESTIGATING,
                            author=source, at=now if ended_at is None else started_at)
            if ended_at is not None:
                _add_update(incident, message_en="This incident has been resolved.",
                            message_zh="此事件已解决。", kind=UpdateKind.RESOLVED, author=source, at=ended_at)
    except IntegrityError:
        if external_ref:  # the same alert, opened at the same moment by another request
            existing = Incident.objects.filter(external_ref=external_ref).first()
            if existing is not None:
                return existing, False
        raise
    return incident, True


@transaction.atomic
def incident_update(
    *, incident_id: int, message_en: str = "", message_zh: str = "", kind: str = UpdateKind.UPDATE,
    title_en: str | None = None, title_zh: str | None = None, regions: Sequence[str] | None = None,
    severity: str | None = None, cause: str | None = None, cause_zh: str | None = None,
    force_majeure: bool | None = None, force_majeure_note_zh: str | None = None,
    force_majeure_note: str | None = None, started_at: dt.datetime | None = None,
    ended_at: dt.datetime | None = None, user=None, source: str = "", now: dt.datetime | None = None,
) -> tuple[Incident, IncidentUpdate | None]:
    """Post an update and/or correct the incident's fields (None leaves a field as it is).

    Corrections are allowed after the incident is closed (a cause found later, force
    majeure established, a more exact start). Returns (incident, the update or None).
    """
    now = now or timezone.now()
    incident = _lock(incident_id)
    author = (source or (f"console:{user.get_username()}" if user is not None else ""))[:120]
    kind = _kind(kind)
    changed: list[str] = []
    if title_en is not None:
        incident.title_en = _text(title_en, "title_en", required=True, max_length=TITLE_MAX)
        changed.append("title_en")
    if title_zh is not None:
        incident.title_zh = _text(title_zh, "title_zh", required=False, max_length=TITLE_MAX) or incident.title_en
        changed.append("title_zh")
    if severity is not None:
        incident.severity = _severity(severity)
        changed.append("severity")
    for name, value in _free_texts(cause=cause, cause_zh=cause_zh, force_majeure_note_zh=force_majeure_note_zh).items():
        setattr(incident, name, value)
        changed.append(name)
    if force_majeure is not None or force_majeure_note is not None:
        flag = incident.force_majeure if force_majeure is None else force_majeure
        note = incident.force_majeure_note if force_majeure_note is None else force_majeure_note
        incident.force_majeure, incident.force_majeure_note = _force_majeure(flag, note)
        changed += ["force_majeure", "force_majeure_note"]
    if started_at is not None:
        incident.started_at = _when(started_at, "started_at", now=now)
        changed.append("started_at")
    if ended_at is not None:
        if incident.ended_at is None:
            raise ValidationError(_("The incident is still going on; close it to give its end."), field="ended_at")
        incident.ended_at = _when(ended_at, "ended_at", now=now)
        changed.append("ended_at")
    if incident.ended_at is not None and incident.ended_at <= incident.started_at:
        raise ValidationError(_("The end must come after the start."),
                              field="ended_at" if "ended_at" in changed else "started_at")
    region_rows = _regions(regions) if regions is not None else None
    if kind == UpdateKind.RESOLVED and incident.ended_at is None:
        raise ValidationError(_("Close the incident to mark it resolved."), field="kind")
    has_message = bool((message_en or "").strip() or (message_zh or "").strip())
    if not changed and region_rows is None and not has_message:
        raise ValidationError(_("Write the update (in English, Chinese or both)."), field="message_en")
    if changed:
        incident.save()
    if region_rows is not None:
        incident.regions.set(region_rows)
        Incident.objects.filter(pk=incident.pk).update(updated_at=now)
    update = None
    if has_message:
        update = _add_update(incident, message_en=message_en, message_zh=message_zh, kind=kind, author=author, at=now)
    return incident, update


@transaction.atomic
def incident_close(
    *, incident_id: int, ended_at: dt.datetime | None = None, message_en: str = "", message_zh: str = "",
    user=None, source: str = "", now: dt.datetime | None = None,
) -> Incident:
    """End an ongoing incident (at `ended_at`, default now) with a "resolved" update."""
    now = now or timezone.now()
    incident = _lock(incident_id)
    if incident.ended_at is not None:
        raise Conflict(_("This incident was already closed at %(when)s.") % {"when": incident.ended_at.isoformat()},
                       field="incident")
    ended_at = _when(ended_at if ended_at is not None else now, "ended_at", now=now)
    if ended_at <= incident.started_at:
        raise ValidationError(_("The end must come after the start (%(start)s).")
                              % {"start": incident.started_at.isoformat()}, field="ended_at")
    incident.ended_at = ended_at
    incident.save()
    author = (source or (f"console:{user.get_username()}" if user is not None else ""))[:120]
    if not (message_en or "").strip() and not (message_zh or "").strip():
        message_en, message_zh = "This incident has been resolved.", "此事件已解决。"
    _add_update(incident, message_en=message_en, message_zh=message_zh, kind=UpdateKind.RESOLVED, author=author,
                at=now)
    return incident


# --- compensation -----------------------------------------------------------------------


def compensation_start(*, incident_id: int, user=None, source: str = "", force: bool = False,
                       enqueue: bool = True, now: dt.datetime | None = None) -> tuple[CompensationRun, bool]:
    """Queue a compensation run for the incident, or return the unfinished one (to resume it).

    Returns (run, started): started is False when an unfinished run was already queued or
    running. A run that stopped (failed, or its process was killed) is queued again and
    continues where it stopped. Refuses an incident that does not (yet) meet the outage
    threshold of the policy in force, unless `force`.
    """
    from refunddesk.status import compensation
    from refunddesk.status.tasks import compensation_run

    now = now or timezone.now()
    with transaction.atomic():
        incident = _lock(incident_id)
        if not force:
            check = compensation.eligibility(incident, now=now)
            if not check.eligible:
                raise Conflict(check.reason, field="incident")
        run = CompensationRun.objects.select_for_update(no_key=True).filter(incident=incident, status__in=UNFINISHED).first()
        started = True
        if run is None:
            run = CompensationRun.objects.create(incident=incident, created_by=user, created_at=now,
                                                 source=(source or (f"console:{user.get_username()}" if user else ""))[:120])
        elif run.status == RunStatus.FAILED or compensation.is_stale(run, now):
            # stopped, or its process died (killed, or a queued task was lost): queue it again; it continues
            run.status, run.error, run.heartbeat_at = RunStatus.QUEUED, "", now
            run.save(update_fields=["status", "error", "heartbeat_at"])
        else:
            started = False
        if enqueue and started:
            compensation_run.enqueue(run_id=run.pk)
    return run, started

"""Status API for monitoring: open, update and close incidents; list them; name regions.

Mounted at /api/v1/status/. Authenticate with a merchant API key (`Authorization: Bearer <key>`).
Times are RFC 3339 with an offset; a time without one is refused.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status

from refunddesk.core.auth import api_key_auth
from refunddesk.core.errors import NotFound, ValidationError
from refunddesk.status import services
from refunddesk.status.models import Incident, IncidentUpdate, Region

router = Router(auth=api_key_auth, tags=["service status"])


class RegionIn(Schema):
    name_en: str
    name_zh: str = ""
    position: int = 0


class RegionOut(Schema):
    code: str
    name_en: str
    name_zh: str
    position: int


class UpdateOut(Schema):
    id: int
    at: dt.datetime
    kind: str
    message_en: str
    message_zh: str


class IncidentOut(Schema):
    id: int
    title_en: str
    title_zh: str
    regions: list[str]
    severity: str
    cause: str
    cause_zh: str
    force_majeure: bool
    force_majeure_note: str
    force_majeure_note_zh: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    ongoing: bool
    external_ref: str
    updates: list[UpdateOut]


class IncidentIn(Schema):
    title_en: str
    title_zh: str = ""
    regions: list[str]
    severity: str = "outage"
    cause: str = ""
    cause_zh: str = ""
    force_majeure: bool = False
    force_majeure_note: str = ""
    force_majeure_note_zh: str = ""
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    message_en: str = ""
    message_zh: str = ""
    external_ref: str = ""


class IncidentUpdateIn(Schema):
    message_en: str = ""
    message_zh: str = ""
    kind: str = "update"
    title_en: str | None = None
    title_zh: str | None = None
    regions: list[str] | None = None
    severity: str | None = None
    cause: str | None = None
    cause_zh: str | None = None
    force_majeure: bool | None = None
    force_majeure_note: str | None = None
    force_majeure_note_zh: str | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None


class IncidentCloseIn(Schema):
    ended_at: dt.datetime | None = None
    message_en: str = ""
    message_zh: str = ""


class IncidentFilter(Schema):
    ongoing: bool | None = None
    region: str | None = None
    since: dt.datetime | None = None
    limit: int = 50


def _source(request: HttpRequest) -> str:
    key = getattr(request, "auth", None)
    return f"api:{getattr(key, 'name', 'key')}"


def _update_out(u: IncidentUpdate) -> dict:
    return {"id": u.pk, "at": u.at, "kind": u.kind, "message_en": u.message_en, "message_zh": u.message_zh}


def _incident_out(incident: Incident) -> dict:
    return {
        "id": incident.pk, "title_en": incident.title_en, "title_zh": incident.title_zh,
        "regions": sorted(r.code for r in incident.regions.all()), "severity": incident.severity,
        "cause": incident.cause, "cause_zh": incident.cause_zh, "force_majeure": incident.force_majeure,
        "force_majeure_note": incident.force_majeure_note, "force_majeure_note_zh": incident.force_majeure_note_zh,
        "started_at": incident.started_at,
        "ended_at": incident.ended_at, "ongoing": incident.ongoing, "external_ref": incident.external_ref,
        "updates": [_update_out(u) for u in incident.updates.all()],
    }


def _get(incident_id: int) -> Incident:
    incident = Incident.objects.prefetch_related("regions", "updates").filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(f"there is no incident {incident_id}.", field="incident")
    return incident


@router.get("/regions", response=list[RegionOut])
def list_regions(request: HttpRequest):
    return list(Region.objects.all())


@router.put("/regions/{code}", response={200: RegionOut, 201: RegionOut})
def put_region(request: HttpRequest, code: str, payload: RegionIn):
    region, created = services.region_upsert(code=code, **payload.dict())
    return Status(201 if created else 200, region)


@router.get("/incidents", response=list[IncidentOut])
def list_incidents(request: HttpRequest, filters: Query[IncidentFilter]):
    """Newest first. `ongoing=true` for the open ones; `region`; `since` (ended after, or ongoing)."""
    if not 1 <= filters.limit <= 500:
        raise ValidationError("limit must be between 1 and 500.", field="limit")
    rows = Incident.objects.prefetch_related("regions", "updates").order_by("-started_at", "-id")
    if filters.ongoing is not None:
        rows = rows.filter(ended_at__isnull=filters.ongoing)
    if filters.region:
        rows = rows.filter(regions__code=filters.region)
    if filters.since:
        rows = rows.exclude(ended_at__lt=filters.since)
    return [_incident_out(i) for i in rows[: filters.limit]]


@router.get("/incidents/{incident_id}", response=IncidentOut)
def get_incident(request: HttpRequest, incident_id: int):
    return _incident_out(_get(incident_id))


@router.post("/incidents", response={200: IncidentOut, 201: IncidentOut})
def open_incident(request: HttpRequest, payload: IncidentIn):
    """Open an incident. With `external_ref`, sending the same alert again returns the first one (200)."""
    incident, created = services.incident_open(**payload.dict(), source=_source(request))
    return Status(201 if created else 200, _incident_out(_get(incident.pk)))


@router.post("/incidents/{incident_id}/updates", response={201: IncidentOut})
def post_update(request: HttpRequest, incident_id: int, payload: IncidentUpdateIn):
    """Post an update; any field given (severity, regions, cause, force majeure...) is corrected too."""
    services.incident_update(incident_id=incident_id, **payload.dict(), source=_source(request))
    return Status(201, _incident_out(_get(incident_id)))


@router.post("/incidents/{incident_id}/close", response=IncidentOut)
def close_incident(request: HttpRequest, incident_id: int, payload: IncidentCloseIn):
    services.incident_close(incident_id=incident_id, **payload.dict(), source=_source(request))
    return _incident_out(_get(incident_id))

"""Status API for monitoring: open, update and close incidents; list them; name regions.

Mounted at /api/v1/status/. Authenticate with a merchant API key (`Authorization: Bearer <key>`).
Times are RFC 3339 with an offset; a time without one is refused.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Path, Query, Router, Schema
from ninja.responses import Status

from refunddesk.core.api_errors import errors, fields_as_sent
from refunddesk.core.api_fields import BIG_ID_MAX, LONG_TEXT, Timestamp, text
from refunddesk.core.auth import api_key_auth
from refunddesk.core.errors import NotFound
from refunddesk.status import services
from refunddesk.status.models import Incident, IncidentUpdate, Region

router = Router(auth=api_key_auth, tags=["service status"])

MAX_POSITION = 1_000_000  # where a region is listed on the status page
MAX_REGIONS = 100  # regions one incident may affect
NOTE = 2000  # a force majeure note, as the status services check
IncidentId = Path(..., ge=1, le=BIG_ID_MAX, description="the incident's id")


class RegionIn(Schema):
    name_en: str = text(100)
    name_zh: str = text(100, "")
    position: int = Field(0, ge=0, le=MAX_POSITION)


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
    title_en: str = text(200)
    title_zh: str = text(200, "")
    regions: list[str] = Field(..., max_length=MAX_REGIONS)
    severity: str = text(20, "outage")
    cause: str = text(LONG_TEXT, "")
    cause_zh: str = text(LONG_TEXT, "")
    force_majeure: bool = False
    force_majeure_note: str = text(NOTE, "")
    force_majeure_note_zh: str = text(NOTE, "")
    started_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    message_en: str = text(LONG_TEXT, "")
    message_zh: str = text(LONG_TEXT, "")
    external_ref: str = text(200, "")


class IncidentUpdateIn(Schema):
    message_en: str = text(LONG_TEXT, "")
    message_zh: str = text(LONG_TEXT, "")
    kind: str = text(20, "update")
    title_en: str | None = text(200, None)
    title_zh: str | None = text(200, None)
    regions: list[str] | None = Field(None, max_length=MAX_REGIONS)
    severity: str | None = text(20, None)
    cause: str | None = text(LONG_TEXT, None)
    cause_zh: str | None = text(LONG_TEXT, None)
    force_majeure: bool | None = None
    force_majeure_note: str | None = text(NOTE, None)
    force_majeure_note_zh: str | None = text(NOTE, None)
    started_at: Timestamp | None = None
    ended_at: Timestamp | None = None


class IncidentCloseIn(Schema):
    ended_at: Timestamp | None = None
    message_en: str = text(LONG_TEXT, "")
    message_zh: str = text(LONG_TEXT, "")


class IncidentFilter(Schema):
    ongoing: bool | None = None
    region: str | None = text(32, None)
    since: Timestamp | None = None
    limit: int = Field(50, ge=1, le=500)


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
        raise NotFound(f"there is no incident {incident_id}.", field="incident_id")
    return incident


@router.get("/regions", response=list[RegionOut])
def list_regions(request: HttpRequest):
    return list(Region.objects.all())


@router.put("/regions/{code}", response={200: RegionOut, 201: RegionOut})
def put_region(request: HttpRequest, payload: RegionIn,
               code: str = Path(..., min_length=1, max_length=32, description="the region's code")):
    region, created = services.region_upsert(code=code, **payload.dict())
    return Status(201 if created else 200, region)


@router.get("/incidents", response=list[IncidentOut])
def list_incidents(request: HttpRequest, filters: Query[IncidentFilter]):
    """Newest first. `ongoing=true` for the open ones; `region`; `since` (ended after, or ongoing); `limit`
    (1 to 500)."""
    rows = Incident.objects.prefetch_related("regions", "updates").order_by("-started_at", "-id")
    if filters.ongoing is not None:
        rows = rows.filter(ended_at__isnull=filters.ongoing)
    if filters.region:
        rows = rows.filter(regions__code=filters.region)
    if filters.since:
        rows = rows.exclude(ended_at__lt=filters.since)
    return [_incident_out(i) for i in rows[: filters.limit]]


@router.get("/incidents/{incident_id}", response={200: IncidentOut, **errors(404)})
def get_incident(request: HttpRequest, incident_id: int = IncidentId):
    return _incident_out(_get(incident_id))


@router.post("/incidents", response={200: IncidentOut, 201: IncidentOut})
def open_incident(request: HttpRequest, payload: IncidentIn):
    """Open an incident. With `external_ref`, sending the same alert again returns the first one (200)."""
    incident, created = services.incident_open(**payload.dict(), source=_source(request))
    return Status(201 if created else 200, _incident_out(_get(incident.pk)))


@router.post("/incidents/{incident_id}/updates", response={201: IncidentOut, **errors(404)})
def post_update(request: HttpRequest, payload: IncidentUpdateIn, incident_id: int = IncidentId):
    """Post an update; any field given (severity, regions, cause, force majeure...) is corrected too."""
    with fields_as_sent(incident="incident_id"):
        services.incident_update(incident_id=incident_id, **payload.dict(), source=_source(request))
    return Status(201, _incident_out(_get(incident_id)))


@router.post("/incidents/{incident_id}/close", response={200: IncidentOut, **errors(404, 409)})
def close_incident(request: HttpRequest, payload: IncidentCloseIn, incident_id: int = IncidentId):
    with fields_as_sent(incident="incident_id"):
        services.incident_close(incident_id=incident_id, **payload.dict(), source=_source(request))
    return _incident_out(_get(incident_id))

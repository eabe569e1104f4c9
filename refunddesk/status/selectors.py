"""Reads: outage facts for policies, and what the public status page shows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from refunddesk.core.stamps import stamp, stamp_bump, stamp_key
from refunddesk.status.models import CompensationRun, Incident, IncidentUpdate, Region, Severity
from refunddesk.status.outages import Interval, OutageFact, longest_continuous_outage

WINDOW_DAYS = 90
SHORT_WINDOW_DAYS = 30  # on a phone
STAMP_KEY = stamp_key("status:stamp")


def outage_fact_for_region(*, region: str, since: dt.datetime, now: dt.datetime) -> OutageFact:
    """The longest continuous outage in `region` between `since` and `now` (merged, clipped)."""
    intervals = outage_intervals(regions=[region], since=since, now=now).get(region, [])
    return longest_continuous_outage(intervals, since=since, now=now)


def outage_intervals(*, regions: list[str], since: dt.datetime, now: dt.datetime) -> dict[str, list[Interval]]:
    """Each region's incidents that overlap `since`..`now`, as intervals (one query for all regions)."""
    out: dict[str, list[Interval]] = {}
    rows = (
        Incident.objects.filter(regions__code__in=sorted(set(regions)), started_at__lt=now)
        .exclude(ended_at__lt=since)
        .values_list("regions__code", "started_at", "ended_at", "force_majeure", "severity")
    )
    for code, start, end, fm, severity in rows:
        out.setdefault(code, []).append(Interval(start=start, end=end, force_majeure=fm, severity=severity))
    return out


# --- the "last change" stamp ------------------------------------------------------------------


def status_stamp() -> str:
    """Changes whenever a region, incident or update changes (apps.py bumps it on commit): core.stamps, read
    once per request with the other stamps."""
    return stamp(STAMP_KEY)


def status_stamp_bump() -> None:
    stamp_bump(STAMP_KEY)


# --- the public page --------------------------------------------------------------------------


@dataclass
class Day:
    date: dt.date
    outage_seconds: float
    degraded_seconds: float
    length_seconds: float
    incidents: list[Incident] = field(default_factory=list)

    @property
    def availability(self) -> float:
        if self.length_seconds <= 0:
            return 1.0
        return max(0.0, 1.0 - self.outage_seconds / self.length_seconds)

    @property
    def level(self) -> str:
        """ok, degraded, partial (some outage), major (down 10% of the day or more)."""
        if self.outage_seconds > 0:
            return "major" if self.availability < 0.9 else "partial"
        if self.degraded_seconds > 0:
            return "degraded"
        return "ok"

    @property
    def percent(self) -> str:
        return _percent(self.availability)


@dataclass
class RegionBoard:
    region: Region
    state: str  # operational, degraded, outage
    days: list[Day]
    uptime: float  # share of the window not in an outage

    @property
    def uptime_percent(self) -> str:
        return _percent(self.uptime)

    @property
    def recent_uptime_percent(self) -> str:
        """Over the last 30 days: what a phone shows."""
        days = self.days[-SHORT_WINDOW_DAYS:]
        total = sum(d.length_seconds for d in days)
        return _percent(1.0 - sum(d.outage_seconds for d in days) / total if total else 1.0)


def _percent(share: float) -> str:
    value = share * 100
    return "100" if value >= 99.995 else f"{value:.2f}"


@dataclass
class IncidentView:
    incident: Incident
    regions: list[Region]
    updates: list[IncidentUpdate]

    @property
    def duration(self) -> dt.timedelta | None:
        if self.incident.ended_at is None:
            return None
        return self.incident.ended_at - self.incident.started_at


@dataclass
class Board:
    now: dt.datetime
    days: list[dt.date]
    regions: list[RegionBoard]
    incidents: list[IncidentView]

    @property
    def state(self) -> str:
        states = {r.state for r in self.regions}
        return "outage" if "outage" in states else "degraded" if "degraded" in states else "operational"

    @property
    def ongoing(self) -> list[IncidentView]:
        return [i for i in self.incidents if i.incident.ongoing]

    @property
    def past(self) -> list[IncidentView]:
        return [i for i in self.incidents if not i.incident.ongoing]


def _overlap(start: dt.datetime, end: dt.datetime, spans: list[tuple[dt.datetime, dt.datetime]]) -> float:
    total = 0.0
    for s, e in spans:
        lo, hi = max(s, start), min(e, end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def _merged(spans: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    out: list[tuple[dt.datetime, dt.datetime]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def status_board(*, now: dt.datetime | None = None, days: int = WINDOW_DAYS) -> Board:
    """Each region's state now, its daily availability for the last `days` days (local time),
    and the incidents of that window with their updates. Three queries, whatever the history:
    regions; incidents of the window with their regions (through the indexed start and end);
    their updates."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    dates = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    tz = timezone.get_current_timezone()
    starts = [timezone.make_aware(dt.datetime.combine(d, dt.time.min), tz) for d in dates]
    window_start = starts[0]
    in_window = Q(started_at__lt=now) & (Q(ended_at__isnull=True) | Q(ended_at__gt=window_start))

    regions = list(Region.objects.all())
    links = (Incident.regions.through.objects
             .filter(incident__started_at__lt=now)
             .filter(Q(incident__ended_at__isnull=True) | Q(incident__ended_at__gt=window_start))
             .select_related("incident"))
    incidents: dict[int, Incident] = {}
    region_ids: dict[int, list[int]] = defaultdict(list)
    for link in links:
        incidents[link.incident_id] = link.incident
        region_ids[link.incident_id].append(link.region_id)
    updates: dict[int, list[IncidentUpdate]] = defaultdict(list)
    if incidents:
        for update in IncidentUpdate.objects.filter(incident__in=Incident.objects.filter(in_window)).order_by(
                "-at", "-id"):
            updates[update.incident_id].append(update)

    by_id = {r.pk: r for r in regions}
    boards = []
    for region in regions:
        mine = [i for i in incidents.values() if region.pk in region_ids[i.pk]]
        outage = _merged([(i.started_at, i.ended_at or now) for i in mine if i.severity == Severity.OUTAGE])
        degraded = _merged([(i.started_at, i.ended_at or now) for i in mine if i.severity == Severity.DEGRADED])
        day_rows = []
        for n, d in enumerate(dates):
            start = starts[n]
            end = min(starts[n + 1] if n + 1 < len(starts) else start + dt.timedelta(days=1), now)
            length = max((end - start).total_seconds(), 0.0)
            touching = [i for i in mine if i.started_at < end and (i.ended_at or now) > start]
            day_rows.append(Day(date=d, outage_seconds=_overlap(start, end, outage),
                                degraded_seconds=_overlap(start, end, degraded), length_seconds=length,
                                incidents=touching))
        total = sum(x.length_seconds for x in day_rows)
        down = sum(x.outage_seconds for x in day_rows)
        ongoing = [i for i in mine if i.ended_at is None]
        state = ("outage" if any(i.severity == Severity.OUTAGE for i in ongoing)
                 else "degraded" if ongoing else "operational")
        boards.append(RegionBoard(region=region, state=state, days=day_rows,
                                  uptime=1.0 - down / total if total else 1.0))
    views = [IncidentView(incident=i, regions=sorted((by_id[r] for r in region_ids[i.pk] if r in by_id),
                                                     key=lambda r: (r.position, r.code)),
                          updates=updates.get(i.pk, []))
             for i in incidents.values()]
    views.sort(key=lambda v: (v.incident.ended_at is not None, -v.incident.started_at.timestamp()))
    return Board(now=now, days=dates, regions=boards, incidents=views)


def incident_detail(*, incident_id: int) -> IncidentView | None:
    incident = Incident.objects.filter(pk=incident_id).prefetch_related("regions").first()
    if incident is None:
        return None
    return IncidentView(incident=incident, regions=list(incident.regions.all()),
                        updates=list(incident.updates.order_by("-at", "-id")))


def incidents_for_console(*, limit: int = 200) -> list[Incident]:
    """Ongoing incidents first, then the most recent."""
    rows = list(Incident.objects.prefetch_related("regions").order_by("-started_at")[:limit])
    return [i for i in rows if i.ongoing] + [i for i in rows if not i.ongoing]


def latest_run(*, incident_id: int) -> CompensationRun | None:
    return CompensationRun.objects.filter(incident_id=incident_id).order_by("-created_at", "-id").first()

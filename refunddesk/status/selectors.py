from __future__ import annotations

import datetime as dt

from refunddesk.status.models import Incident
from refunddesk.status.outages import Interval, OutageFact, longest_continuous_outage


def outage_fact_for_region(*, region: str, since: dt.datetime, now: dt.datetime) -> OutageFact:
    """The longest continuous outage in `region` between `since` and `now` (merged, clipped)."""
    rows = (
        Incident.objects.filter(regions__code=region, started_at__lt=now)
        .exclude(ended_at__lt=since)
        .values_list("started_at", "ended_at", "force_majeure", "severity")
    )
    intervals = [Interval(start=s, end=e, force_majeure=fm, severity=sev) for s, e, fm, sev in rows]
    return longest_continuous_outage(intervals, since=since, now=now)

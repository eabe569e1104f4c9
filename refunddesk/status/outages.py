"""Outage facts for policies: the longest continuous outage in a window (pure, no Django).

Feeds the policy facts ``outage.longest_hours`` and ``outage.force_majeure``
(facts contract v1): "longest continuous outage in the customer's region since
purchase" and "that outage was caused by force majeure".

Rules
-----
* Only incidents of severity ``"outage"`` count. ``"degraded"`` means the service
  worked, badly: it is not an outage, does not extend one, and does not join two
  outages separated by it.
* Each incident is clipped to the window ``[since, now]``; an ongoing incident
  (``end is None``) ends at ``now``. What lies outside the window (before the
  purchase, say) does not count. An incident with nothing left inside the window
  (or of zero length) is ignored.
* Overlapping, nested and back-to-back incidents (one ends exactly when the next
  starts: a gap of zero) form one continuous run. Any positive gap splits runs.
* The result is the longest run. ``force_majeure`` is True when **any** incident
  that is part of that run was force majeure, even if only part of the run was
  (simple and conservative; a policy that wants to discount only the
  force-majeure part needs a different fact). A force-majeure incident in a
  different, shorter run does not set it.
* Ties between runs of equal length go to a run without force majeure (the
  customer did suffer an outage that long that was not force majeure), then to
  the earliest.
* No outage in the window: 0 hours, ``force_majeure`` False, no start or end.

Sorting dominates: O(n log n) for n incidents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from refunddesk.core.errors import ValidationError

__all__ = ["SEVERITIES", "Interval", "OutageFact", "Severity", "longest_continuous_outage"]

Severity = Literal["degraded", "outage"]
SEVERITIES: tuple[str, ...] = ("degraded", "outage")

_SECONDS_PER_HOUR = 3600


def _require_aware(value: object, name: str) -> None:
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} must be a datetime, got {value!r}", field=name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name} must be timezone-aware, got {value.isoformat()}", field=name)


@dataclass(frozen=True, slots=True)
class Interval:
    """One incident: ``[start, end)``, ``end=None`` while it is still going on."""

    start: datetime
    end: datetime | None = None
    force_majeure: bool = False
    severity: Severity = "outage"

    def __post_init__(self) -> None:
        _require_aware(self.start, "start")
        if self.end is not None:
            _require_aware(self.end, "end")
            if self.end < self.start:
                raise ValidationError(
                    f"incident ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})",
                    field="end",
                )
        if self.severity not in SEVERITIES:
            raise ValidationError(
                f"severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}", field="severity"
            )


@dataclass(frozen=True, slots=True)
class OutageFact:
    """The longest continuous outage: its length in hours, whether force majeure was part of it, its bounds."""

    longest_hours: float
    force_majeure: bool
    start: datetime | None = None
    end: datetime | None = None

    @property
    def duration(self) -> timedelta:
        """Exact length of the run (zero when there was none)."""
        if self.start is None or self.end is None:
            return timedelta(0)
        return self.end - self.start

    def as_facts(self) -> dict[str, float | bool]:
        """The ``outage.*`` policy facts."""
        return {"longest_hours": self.longest_hours, "force_majeure": self.force_majeure}


NO_OUTAGE = OutageFact(longest_hours=0.0, force_majeure=False)


def longest_continuous_outage(incidents: Iterable[Interval], since: datetime, now: datetime) -> OutageFact:
    """The longest continuous run of ``"outage"`` incidents inside ``[since, now]``. See the module docs."""
    _require_aware(since, "since")
    _require_aware(now, "now")
    if now < since:
        raise ValidationError(f"window ends ({now.isoformat()}) before it starts ({since.isoformat()})")

    clipped: list[tuple[datetime, datetime, bool]] = []
    for incident in incidents:
        if not isinstance(incident, Interval):
            raise ValidationError(f"expected an Interval, got {incident!r}")
        if incident.severity != "outage":
            continue
        start = max(incident.start, since)
        end = now if incident.end is None else min(incident.end, now)
        if end > start:
            clipped.append((start, end, incident.force_majeure))
    if not clipped:
        return NO_OUTAGE
    clipped.sort(key=lambda item: item[0])

    runs: list[tuple[datetime, datetime, bool]] = []
    run_start, run_end, run_fm = clipped[0]
    for start, end, fm in clipped[1:]:
        if start <= run_end:  # overlapping, nested or back-to-back: same run
            run_end = max(run_end, end)
            run_fm = run_fm or fm
        else:
            runs.append((run_start, run_end, run_fm))
            run_start, run_end, run_fm = start, end, fm
    runs.append((run_start, run_end, run_fm))

    # Longest first; on equal length a run without force majeure; max() keeps the earliest of full ties.
    best = max(runs, key=lambda run: (run[1] - run[0], not run[2]))
    start, end, fm = best
    return OutageFact(
        longest_hours=(end - start).total_seconds() / _SECONDS_PER_HOUR,
        force_majeure=fm,
        start=start,
        end=end,
    )

"""Longest continuous outage: merging, clipping, severity, force majeure, and a brute-force oracle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refunddesk.core.errors import ValidationError
from refunddesk.status.outages import Interval, OutageFact, longest_continuous_outage

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def out(a: float, b: float | None, fm: bool = False, severity: str = "outage") -> Interval:
    return Interval(start=h(a), end=None if b is None else h(b), force_majeure=fm, severity=severity)


def fact(incidents, since: float = 0, now: float = 1000) -> OutageFact:
    return longest_continuous_outage(incidents, since=h(since), now=h(now))


def test_no_incidents():
    result = fact([])
    assert result == OutageFact(longest_hours=0.0, force_majeure=False, start=None, end=None)
    assert result.duration == timedelta(0)
    assert result.as_facts() == {"longest_hours": 0.0, "force_majeure": False}


def test_single_incident():
    result = fact([out(10, 13.5)])
    assert result.longest_hours == 3.5
    assert (result.start, result.end) == (h(10), h(13.5))
    assert result.duration == timedelta(hours=3.5)
    assert result.force_majeure is False


def test_overlapping_incidents_merge():
    assert fact([out(10, 14), out(12, 20)]).longest_hours == 10


def test_back_to_back_incidents_merge():
    result = fact([out(10, 12), out(12, 15), out(15, 16)])
    assert result.longest_hours == 6
    assert (result.start, result.end) == (h(10), h(16))


def test_a_gap_splits_runs():
    result = fact([out(10, 12), out(12.01, 15)])
    assert result.longest_hours == pytest.approx(2.99)
    assert result.start == h(12.01)


def test_nested_incident_adds_nothing():
    assert fact([out(10, 20), out(12, 13), out(15, 19)]).longest_hours == 10


def test_order_of_input_does_not_matter():
    incidents = [out(30, 31), out(10, 12), out(11, 15), out(15, 16)]
    assert fact(incidents) == fact(list(reversed(incidents))) == fact(sorted(incidents, key=lambda i: i.end))
    assert fact(incidents).longest_hours == 6


def test_ongoing_incident_ends_now():
    result = fact([out(990, None)], now=1000)
    assert result.longest_hours == 10
    assert result.end == h(1000)


def test_ongoing_incident_merges_with_an_earlier_one():
    assert fact([out(980, 990), out(990, None)], now=1000).longest_hours == 20


def test_incident_before_purchase_is_clipped():
    assert fact([out(0, 30)], since=24).longest_hours == 6
    assert fact([out(0, 20)], since=24) == fact([])  # entirely before the purchase
    assert fact([out(0, 20), out(20, 30)], since=24).start == h(24)


def test_incident_after_now_is_clipped():
    assert fact([out(95, 110)], now=100).longest_hours == 5
    assert fact([out(120, None)], now=100) == fact([])  # starts after now


def test_degraded_is_not_an_outage():
    assert fact([out(10, 40, severity="degraded")]) == fact([])
    assert fact([out(10, 12), out(12, 40, severity="degraded"), out(40, 42)]).longest_hours == 2


def test_force_majeure_on_the_longest_run():
    result = fact([out(10, 20, fm=True), out(50, 52)])
    assert result.longest_hours == 10
    assert result.force_majeure is True


def test_force_majeure_on_a_shorter_separate_run_does_not_count():
    result = fact([out(10, 12, fm=True), out(50, 60)])
    assert result.longest_hours == 10
    assert result.force_majeure is False


def test_force_majeure_anywhere_in_the_run_marks_it():
    result = fact([out(10, 20), out(20, 21, fm=True), out(21, 30)])
    assert result.longest_hours == 20
    assert result.force_majeure is True


def test_force_majeure_clipped_away_does_not_mark_the_run():
    # The force-majeure incident happened before the purchase; only its non-fm continuation counts.
    result = fact([out(0, 24, fm=True), out(24, 30)], since=24)
    assert result.longest_hours == 6
    assert result.force_majeure is False


def test_ties_prefer_the_run_without_force_majeure_then_the_earliest():
    result = fact([out(10, 15, fm=True), out(50, 55)])
    assert (result.start, result.force_majeure) == (h(50), False)
    result = fact([out(10, 15), out(50, 55)])
    assert result.start == h(10)


def test_time_zones_mix():
    sh = ZoneInfo("Asia/Shanghai")
    a = Interval(start=datetime(2026, 3, 1, 8, tzinfo=sh), end=datetime(2026, 3, 1, 1, tzinfo=UTC))
    b = Interval(start=datetime(2026, 3, 1, 1, tzinfo=UTC), end=datetime(2026, 3, 1, 12, tzinfo=sh))
    assert longest_continuous_outage([a, b], since=T0 - timedelta(days=1), now=h(48)).longest_hours == 4


def test_bad_input():
    with pytest.raises(ValidationError):
        out(10, 9)
    with pytest.raises(ValidationError, match="severity"):
        out(1, 2, severity="partial")
    with pytest.raises(ValidationError, match="timezone-aware"):
        Interval(start=datetime(2026, 3, 1))
    with pytest.raises(ValidationError):
        fact([], since=10, now=5)
    with pytest.raises(ValidationError):
        longest_continuous_outage([], since=datetime(2026, 3, 1), now=h(1))
    with pytest.raises(ValidationError):
        fact([(h(1), h(2))])


def test_accepts_any_iterable():
    assert fact(out(i * 3, i * 3 + 2) for i in range(5)).longest_hours == 2


def test_large_input_is_fast_enough():
    # 200k back-to-back incidents form one run; a quadratic algorithm would not finish.
    incidents = [
        Interval(start=T0 + timedelta(minutes=i), end=T0 + timedelta(minutes=i + 1)) for i in range(200_000)
    ]
    result = longest_continuous_outage(incidents, since=T0, now=T0 + timedelta(days=365))
    assert result.duration == timedelta(minutes=200_000)


# -- property: equals a brute-force minute-grid computation ---------------------------------------

incident_st = st.tuples(
    st.integers(min_value=0, max_value=60),  # start minute
    st.one_of(st.none(), st.integers(min_value=0, max_value=20)),  # length in minutes, None = ongoing
    st.booleans(),  # force majeure
    st.sampled_from(["outage", "outage", "degraded"]),
)


def brute_force(raw, since: int, now: int):
    """Minute m (the slot [m, m+1)) is out if an outage incident covers it; runs are maximal streaks."""
    spans = [
        (max(s, since), min(now if length is None else s + length, now), fm)
        for s, length, fm, severity in raw
        if severity == "outage"
    ]
    out_minutes = [m for m in range(since, now) if any(a <= m < b for a, b, _ in spans)]
    runs: list[list[int]] = []
    for m in out_minutes:
        if runs and runs[-1][1] == m:
            runs[-1][1] = m + 1
        else:
            runs.append([m, m + 1])
    if not runs:
        return 0, False, None, None
    best = None
    for a, b in runs:
        fm = any(fm and max(x, a) < min(y, b) for x, y, fm in spans)
        if best is None or (b - a, not fm) > (best[1] - best[0], not best[2]):
            best = (a, b, fm)
    a, b, fm = best
    return b - a, fm, a, b


@settings(max_examples=500, deadline=None)
@given(
    raw=st.lists(incident_st, max_size=8),
    since=st.integers(min_value=0, max_value=40),
    window=st.integers(min_value=0, max_value=50),
)
def test_matches_brute_force_minute_grid(raw, since, window):
    now = since + window

    def m(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    incidents = [
        Interval(start=m(s), end=None if length is None else m(s + length), force_majeure=fm, severity=sev)
        for s, length, fm, sev in raw
    ]
    # Ongoing incidents that start after "now" are legal input; they simply do not count.
    result = longest_continuous_outage(incidents, since=m(since), now=m(now))
    minutes, fm, a, b = brute_force(raw, since, now)
    assert result.longest_hours == minutes / 60
    assert result.force_majeure is fm
    assert (result.start, result.end) == ((None, None) if a is None else (m(a), m(b)))

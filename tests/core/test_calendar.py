"""Business calendar: real 2026 Chinese dates, the missing-2027 refusal, deadlines and pauses.

2026 China (国务院办公厅关于2026年部分节假日安排的通知, checked against the `holidays`
0.109 data printed by `holidays.CN(years=2026)` and its `weekend_workdays`):

    New Year      Jan 1-3 off            make-up: Sun Jan 4
    Spring Fest.  Feb 15-23 off (9 days) make-up: Sat Feb 14, Sat Feb 28
    Qingming      Apr 4-6 off
    Labour Day    May 1-5 off            make-up: Sat May 9
    Dragon Boat   Jun 19-21 off
    Mid-Autumn    Sep 25-27 off
    National Day  Oct 1-7 off            make-up: Sun Sep 20, Sat Oct 10
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refunddesk.core.calendar import END_OF_DAY, BusinessCalendar, get_calendar
from refunddesk.core.errors import ConfigurationError, ValidationError

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
LON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def cn() -> BusinessCalendar:
    return BusinessCalendar("CN")


def at(y: int, m: int, d: int, hh: int = 12, mm: int = 0, tz=SH) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)


def due(y: int, m: int, d: int, tz=SH) -> datetime:
    return datetime.combine(date(y, m, d), END_OF_DAY, tzinfo=tz)


# -- the data itself ---------------------------------------------------------------------------


MAKEUP_2026 = [
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
]
# Weekdays (Mon-Fri) that are days off in 2026.
WEEKDAYS_OFF_2026 = [
    date(2026, 1, 1), date(2026, 1, 2),
    date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19), date(2026, 2, 20), date(2026, 2, 23),
    date(2026, 4, 6),
    date(2026, 5, 1), date(2026, 5, 4), date(2026, 5, 5),
    date(2026, 6, 19),
    date(2026, 9, 25),
    date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7),
]  # fmt: skip


def test_library_data_for_2026_matches_the_official_notice():
    cn2026 = holidays.CN(years=2026)
    assert sorted(d for d in cn2026.weekend_workdays if d.year == 2026) == MAKEUP_2026
    weekday_holidays = sorted(d for d in cn2026 if d.year == 2026 and d.weekday() < 5)
    assert weekday_holidays == WEEKDAYS_OFF_2026


def test_2026_business_days_in_china(cn):
    expected = {
        d
        for d in (date(2026, 1, 1) + timedelta(days=i) for i in range(365))
        if (d.weekday() < 5 and d not in WEEKDAYS_OFF_2026) or d in MAKEUP_2026
    }
    assert set(cn.business_days(date(2026, 1, 1), date(2026, 12, 31))) == expected
    assert len(expected) == 248  # 261 weekdays - 19 weekdays off + 6 make-up days


def test_spring_festival_2026(cn):
    assert cn.business_days(date(2026, 2, 12), date(2026, 3, 2)) == [
        date(2026, 2, 12), date(2026, 2, 13),
        date(2026, 2, 14),  # Saturday, make-up working day
        # Sun Feb 15 .. Mon Feb 23: nine days off
        date(2026, 2, 24), date(2026, 2, 25), date(2026, 2, 26), date(2026, 2, 27),
        date(2026, 2, 28),  # Saturday, make-up working day
        date(2026, 3, 2),
    ]  # fmt: skip
    for day in range(15, 24):
        assert not cn.is_business_day(date(2026, 2, day))


@pytest.mark.parametrize("makeup", MAKEUP_2026)
def test_a_make_up_weekend_day_counts_as_a_business_day(cn, makeup):
    assert makeup.weekday() >= 5
    assert cn.is_business_day(makeup)


def test_ordinary_weekends_and_weekdays(cn):
    assert not cn.is_business_day(date(2026, 3, 7))  # Saturday
    assert not cn.is_business_day(date(2026, 3, 8))  # Sunday
    assert cn.is_business_day(date(2026, 3, 9))  # Monday
    assert cn.next_business_day(date(2026, 3, 6)) == date(2026, 3, 9)
    assert cn.next_business_day(date(2026, 3, 7)) == date(2026, 3, 9)


def test_national_day_2026(cn):
    assert cn.is_business_day(date(2026, 9, 20))  # Sunday make-up
    assert [cn.is_business_day(date(2026, 10, d)) for d in range(1, 12)] == [
        False, False, False, False, False, False, False,  # Oct 1-7 off
        True, True,  # Thu 8, Fri 9
        True,  # Sat Oct 10, make-up
        False,  # Sun Oct 11
    ]  # fmt: skip
    assert cn.next_business_day(date(2026, 9, 30)) == date(2026, 10, 8)


# -- deadlines -----------------------------------------------------------------------------------


def test_received_on_the_last_working_day_before_spring_festival(cn):
    # Sat Feb 14 is the last working day (a make-up day); then nine days off.
    assert cn.add_business_days(at(2026, 2, 14, 17, 30), 3) == due(2026, 2, 26)
    # Friday evening before: the make-up Saturday is business day 1.
    assert cn.add_business_days(at(2026, 2, 13, 21), 3) == due(2026, 2, 25)
    assert cn.add_business_days(at(2026, 2, 13, 21), 1) == due(2026, 2, 14)


def test_received_on_a_holiday_counts_from_the_next_business_day(cn):
    assert cn.add_business_days(at(2026, 2, 18, 9), 1) == due(2026, 2, 24)
    assert cn.add_business_days(at(2026, 2, 18, 9), 3) == due(2026, 2, 26)
    assert cn.add_business_days(at(2026, 10, 3), 3) == due(2026, 10, 10)  # Sat Oct 10 is a make-up day


def test_a_make_up_saturday_can_be_the_deadline(cn):
    assert cn.add_business_days(at(2026, 2, 27, 10), 1) == due(2026, 2, 28)
    assert cn.add_business_days(at(2026, 10, 9, 10), 1) == due(2026, 10, 10)
    assert cn.add_business_days(at(2026, 9, 19, 10), 1) == due(2026, 9, 20)  # Sunday make-up


def test_national_day_deadline(cn):
    assert cn.add_business_days(at(2026, 9, 30, 18), 1) == due(2026, 10, 8)
    assert cn.add_business_days(at(2026, 9, 30, 18), 2) == due(2026, 10, 9)
    assert cn.add_business_days(at(2026, 9, 30, 18), 5) == due(2026, 10, 13)


def test_ordinary_weekend_deadline(cn):
    assert cn.add_business_days(at(2026, 3, 6, 23, 59), 1) == due(2026, 3, 9)
    assert cn.add_business_days(at(2026, 3, 7), 1) == due(2026, 3, 9)
    assert cn.add_business_days(at(2026, 3, 9, 0, 0), 5) == due(2026, 3, 16)


def test_the_day_is_decided_in_the_calendar_time_zone(cn):
    # 15:00 UTC on Feb 13 is 23:00 in Shanghai: received Friday Feb 13.
    assert cn.add_business_days(datetime(2026, 2, 13, 15, 0, tzinfo=UTC), 1) == due(2026, 2, 14)
    # 17:00 UTC on Feb 13 is 01:00 on Saturday Feb 14 in Shanghai.
    assert cn.add_business_days(datetime(2026, 2, 13, 17, 0, tzinfo=UTC), 1) == due(2026, 2, 24)
    result = cn.add_business_days(datetime(2026, 3, 9, 1, tzinfo=UTC), 1)
    assert result.tzinfo == SH and result.timetz() == END_OF_DAY.replace(tzinfo=SH)


def test_deadline_inside_2026_near_year_end_works(cn):
    assert cn.add_business_days(at(2026, 12, 28), 3) == due(2026, 12, 31)


def test_china_2027_has_no_make_up_days_in_the_installed_library():
    cn2027 = holidays.CN(years=2027)
    assert len([d for d in cn2027 if d.year == 2027]) > 0  # extrapolated holidays exist...
    if any(d.year == 2027 for d in cn2027.weekend_workdays):
        pytest.skip(f"holidays {holidays.__version__} now has China's 2027 schedule")
    # ... but no make-up working days: the year has not been published.


def test_deadline_that_needs_a_2027_day_is_refused_naming_the_year(cn):
    if any(d.year == 2027 for d in holidays.CN(years=2027).weekend_workdays):
        pytest.skip(f"holidays {holidays.__version__} now has China's 2027 schedule")
    with pytest.raises(ConfigurationError) as info:
        cn.add_business_days(at(2026, 12, 29), 3)
    err = info.value
    message = str(err)
    assert "2027" in message and "China" in message
    assert "upgrade the `holidays` package" in message
    assert "record it in CN-2027.yaml in the calendars directory (REFUNDDESK_CALENDARS_DIR" in message
    assert err.status_code == 503
    assert err.as_dict()["year"] == 2027
    assert err.as_dict()["code"] == "holiday_schedule_missing"
    with pytest.raises(ConfigurationError, match="2027"):
        cn.is_business_day(date(2027, 1, 4))
    with pytest.raises(ConfigurationError, match="2027"):
        cn.business_time_between(at(2026, 12, 31), at(2027, 1, 4))
    # The refusal is not cached as data: 2026 still works afterwards.
    assert cn.is_business_day(date(2026, 12, 31))


def test_far_future_china_year_is_always_refused(cn):
    with pytest.raises(ConfigurationError, match="2100"):
        cn.next_business_day(date(2100, 3, 1))


def test_refusal_can_be_switched_off_explicitly():
    loose = BusinessCalendar("CN", require_makeup_days=False)
    assert not loose.is_business_day(date(2027, 10, 1))  # extrapolated National Day


# -- other countries -----------------------------------------------------------------------------


def test_united_states_plain_weekends_and_holidays():
    us = BusinessCalendar("US", tz="America/New_York")
    assert not us.is_business_day(date(2026, 7, 3))  # Independence Day observed (Friday)
    assert not us.is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert not us.is_business_day(date(2026, 2, 14))  # Saturday: no make-up days in the US
    assert us.is_business_day(date(2026, 2, 17))
    assert us.add_business_days(at(2026, 11, 25, 16, tz=NY), 1) == due(2026, 11, 27, tz=NY)
    # No make-up-day requirement: 2027 works.
    assert us.add_business_days(at(2026, 12, 31, 9, tz=NY), 1) == due(2027, 1, 4, tz=NY)


def test_great_britain_and_a_subdivision():
    gb = BusinessCalendar("GB", tz="Europe/London")
    assert gb.add_business_days(at(2026, 12, 24, 9, tz=LON), 1) == due(2026, 12, 29, tz=LON)
    assert gb.is_business_day(date(2026, 11, 30))
    scotland = BusinessCalendar("GB", subdiv="SCT", tz="Europe/London")
    assert not scotland.is_business_day(date(2026, 11, 30))  # St Andrew's Day


def test_unknown_country_or_subdivision_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="REFUNDDESK_HOLIDAY_COUNTRY"):
        BusinessCalendar("XX")
    with pytest.raises(ConfigurationError, match="ZZ"):
        BusinessCalendar("GB", subdiv="ZZ")
    with pytest.raises(ConfigurationError, match="time zone"):
        BusinessCalendar("CN", tz="Mars/Olympus")


def test_country_code_is_normalised_and_calendars_are_cached():
    assert BusinessCalendar(" cn ").country == "CN"
    assert get_calendar("CN") is get_calendar("CN")
    assert get_calendar("US", None, "America/New_York").tz == NY


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, -1, True, 1.5, "3"])
def test_bad_number_of_days(cn, n):
    with pytest.raises(ValidationError):
        cn.add_business_days(at(2026, 3, 9), n)


def test_naive_datetimes_and_datetimes_for_dates_are_refused(cn):
    with pytest.raises(ValidationError, match="timezone-aware"):
        cn.add_business_days(datetime(2026, 3, 9, 12), 1)
    with pytest.raises(ValidationError):
        cn.is_business_day(datetime(2026, 3, 9, 12, tzinfo=SH))
    with pytest.raises(ValidationError):
        cn.business_time_between(at(2026, 3, 10), at(2026, 3, 9))


def test_business_days_range(cn):
    assert cn.business_days(date(2026, 3, 9), date(2026, 3, 9)) == [date(2026, 3, 9)]
    assert cn.business_days(date(2026, 3, 10), date(2026, 3, 9)) == []
    assert cn.business_days(date(2026, 3, 7), date(2026, 3, 8)) == []


# -- business time and pauses ---------------------------------------------------------------------


def test_business_time_counts_only_business_days(cn):
    assert cn.business_time_between(at(2026, 3, 7, 10), at(2026, 3, 8, 20)) == timedelta(0)
    assert cn.business_time_between(at(2026, 3, 6, 18), at(2026, 3, 9, 6)) == timedelta(hours=12)
    assert cn.business_time_between(at(2026, 3, 9, 10), at(2026, 3, 10, 10)) == timedelta(days=1)
    # Across Spring Festival: Fri afternoon + the whole make-up Saturday + Tue morning.
    assert cn.business_time_between(at(2026, 2, 13, 12), at(2026, 2, 24, 12)) == timedelta(hours=48)
    assert cn.elapsed_business_seconds(at(2026, 3, 9, 10), at(2026, 3, 9, 10, 30)) == 1800.0
    assert cn.business_time_between(at(2026, 3, 9, 10), at(2026, 3, 9, 10)) == timedelta(0)


def test_pause_over_a_weekend_adds_nothing(cn):
    deadline = due(2026, 3, 13)
    assert cn.extend_by_pause(deadline, at(2026, 3, 7, 10), at(2026, 3, 8, 20)) == deadline


def test_pause_over_a_holiday_adds_nothing(cn):
    deadline = due(2026, 10, 13)
    assert cn.extend_by_pause(deadline, at(2026, 10, 1, 0, 0), at(2026, 10, 7, 23, 59)) == deadline


def test_pause_of_one_business_day_adds_one_business_day(cn):
    assert cn.extend_by_pause(due(2026, 3, 13), at(2026, 3, 9, 10), at(2026, 3, 10, 10)) == due(2026, 3, 16)
    # Over Spring Festival: the due date moves to the next business day after the holiday.
    assert cn.extend_by_pause(due(2026, 2, 13), at(2026, 2, 10, 9), at(2026, 2, 11, 9)) == due(2026, 2, 14)
    assert cn.extend_by_pause(due(2026, 2, 14), at(2026, 2, 10, 9), at(2026, 2, 11, 9)) == due(2026, 2, 24)


def test_pause_of_part_of_a_day_is_exact(cn):
    # 6 h on Friday + 6 h on Monday = 12 business hours, added after the Friday deadline:
    # 1 µs left of Friday, the weekend is skipped, the rest is taken from Monday.
    extended = cn.extend_by_pause(due(2026, 3, 13), at(2026, 3, 6, 18), at(2026, 3, 9, 6))
    assert extended == datetime(2026, 3, 16, 11, 59, 59, 999999, tzinfo=SH)


def test_add_business_time_from_a_weekend_starts_on_the_next_business_day(cn):
    assert cn.add_business_time(at(2026, 3, 7, 10), timedelta(hours=1)) == at(2026, 3, 9, 1)
    assert cn.add_business_time(at(2026, 3, 7, 10), timedelta(0)) == at(2026, 3, 7, 10)
    with pytest.raises(ValidationError):
        cn.add_business_time(at(2026, 3, 7, 10), timedelta(hours=-1))


# -- properties ----------------------------------------------------------------------------------

_cn_oracle = holidays.CN(years=range(2025, 2027))

starts_2025_2026 = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2026, 10, 31, 23, 59), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(start=starts_2025_2026, n=st.integers(min_value=1, max_value=30))
def test_deadline_lands_on_a_business_day_exactly_n_business_days_later(start, n):
    cal = get_calendar("CN")
    result = cal.add_business_days(start, n)
    due_day = result.date()
    assert result.tzinfo == SH and result.time() == END_OF_DAY
    assert cal.is_business_day(due_day)
    assert _cn_oracle.is_working_day(due_day)  # against the library directly
    start_day = start.astimezone(SH).date()
    between = [start_day + timedelta(days=i) for i in range(1, (due_day - start_day).days + 1)]
    assert sum(1 for d in between if _cn_oracle.is_working_day(d)) == n
    assert len(cal.business_days(start_day + timedelta(days=1), due_day)) == n


@settings(max_examples=200, deadline=None)
@given(
    due_at=starts_2025_2026,
    pause_start=starts_2025_2026,
    pause_len=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20)),
)
def test_pause_extension_adds_exactly_the_paused_business_time(due_at, pause_start, pause_len):
    cal = get_calendar("CN")
    elapsed = cal.business_time_between(pause_start, pause_start + pause_len)
    assert timedelta(0) <= elapsed <= pause_len
    extended = cal.extend_by_pause(due_at, pause_start, pause_start + pause_len)
    assert extended >= due_at
    assert cal.business_time_between(due_at, extended) == elapsed
    # and it is the earliest such instant: one microsecond earlier is not enough
    if elapsed:
        assert cal.business_time_between(due_at, extended - timedelta(microseconds=1)) < elapsed


@settings(max_examples=100, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    n=st.integers(min_value=1, max_value=300),
)
def test_us_deadline_property_across_many_years(start, n):
    cal = get_calendar("US", None, "America/New_York")
    result = cal.add_business_days(start, n)
    start_day = start.astimezone(NY).date()
    assert cal.is_business_day(result.date())
    assert len(cal.business_days(start_day + timedelta(days=1), result.date())) == n
    assert result.timetz() == time(23, 59, 59, 999999, tzinfo=NY)


def test_business_days_between_counts_what_business_days_lists(cn):
    """The count the reports use for time to decision: business days after the first day up to the last,
    across the Spring Festival (make-up Saturday 28 Feb included) and across a year's end."""
    assert cn.business_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6  # 14 Feb, 24-28 Feb
    assert cn.business_days_between(date(2026, 2, 13), date(2026, 2, 13)) == 0
    assert cn.business_days_between(date(2026, 2, 28), date(2026, 2, 13)) == 0
    start, end = date(2025, 12, 20), date(2026, 1, 10)
    assert cn.business_days_between(start, end) == len(cn.business_days(date(2025, 12, 21), end))

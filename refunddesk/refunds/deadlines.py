"""Deadlines in business days on the merchant's holiday calendar (settings.REFUNDDESK_HOLIDAY_COUNTRY)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from refunddesk.core.calendar import BusinessCalendar, get_calendar


def calendar() -> BusinessCalendar:
    """The merchant's calendar: the `holidays` package, schedule files, and schedules recorded in the console
    (one small query; the calendar itself is cached until one of them changes)."""
    from refunddesk.core.models import HolidaySchedule

    country = settings.REFUNDDESK_HOLIDAY_COUNTRY.strip().upper()
    recorded = tuple(HolidaySchedule.objects.filter(country=country).order_by("year")
                     .values_list("document", flat=True))
    return get_calendar(country, tz=settings.TIME_ZONE, schedules_dir=settings.REFUNDDESK_CALENDARS_DIR,
                        recorded=recorded)


def due_after(start: dt.datetime, business_days: int) -> dt.datetime:
    """Raises ConfigurationError when the calendar has no schedule for a year it needs."""
    return calendar().add_business_days(start, business_days)


def extend_for_pause(due: dt.datetime, paused_from: dt.datetime, resumed_at: dt.datetime) -> dt.datetime:
    return calendar().extend_by_pause(due, paused_from, resumed_at)


# From this day of the year on, a missing schedule for next year is reported (deadlines start to reach it).
WARN_FROM = (11, 15)


def missing_year(today: dt.date, cal: BusinessCalendar | None = None) -> int | None:
    """The year deadlines will soon reach but cannot be computed in (no holiday schedule for it), or None:
    this year if it is missing, next year once `WARN_FROM` has passed."""
    cal = cal or calendar()
    years = [today.year] + ([today.year + 1] if (today.month, today.day) >= WARN_FROM else [])
    return next((year for year in years if cal.source(year)[0] == "missing"), None)

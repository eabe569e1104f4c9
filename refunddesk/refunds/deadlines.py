"""Deadlines in business days on the merchant's holiday calendar (settings.REFUNDDESK_HOLIDAY_COUNTRY)."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from contextlib import contextmanager

from django.conf import settings

from refunddesk.core.calendar import BusinessCalendar, get_calendar
from refunddesk.core.services import HOLIDAY_SCHEDULES_STAMP
from refunddesk.core.stamps import stamp

#: Seconds after which the schedule files are listed again even though their folder has not changed (a file
#: edited in place changes its own time, not the folder's).
RELIST_SECONDS = 60.0

_lock = threading.Lock()
_held: tuple[tuple, BusinessCalendar] | None = None


def calendar() -> BusinessCalendar:
    """The merchant's calendar: the `holidays` package, schedule files (REFUNDDESK_CALENDARS_DIR) and schedules
    recorded in the console. Kept per process: asking costs one cache read (the stamp that recording a schedule
    changes, core.stamps) and one `stat` of the schedules folder (a file added, removed or replaced changes its
    time); the folder is listed and the recorded schedules read only when one of them changed, or once a
    minute (RELIST_SECONDS: a file edited in place). The same calendar object is answered while nothing
    changed (services.deadlines_fill_on_calendar_change compares it)."""
    global _held
    pinned = getattr(_pin, "calendar", None)
    if pinned is not None:
        return pinned
    country = settings.REFUNDDESK_HOLIDAY_COUNTRY.strip().upper()
    folder = settings.REFUNDDESK_CALENDARS_DIR
    try:
        folder_time = os.stat(folder).st_mtime_ns if folder else None
    except OSError:
        folder_time = None
    key = (country, settings.TIME_ZONE, str(folder or ""), folder_time, stamp(HOLIDAY_SCHEDULES_STAMP),
           int(time.monotonic() // RELIST_SECONDS))
    held = _held
    if held is not None and held[0] == key and key[4]:
        return held[1]
    from refunddesk.core.models import HolidaySchedule

    recorded = tuple(HolidaySchedule.objects.filter(country=country).order_by("year")
                     .values_list("document", flat=True))
    cal = get_calendar(country, tz=settings.TIME_ZONE, schedules_dir=folder, recorded=recorded)
    with _lock:
        _held = (key, cal)
    return cal


_pin = threading.local()


@contextmanager
def pinned():
    """Inside, `calendar()` answers the calendar it answered on entry, without asking again (a batch of
    thousands of requests computes their deadlines on one calendar). Nested: the outermost pins."""
    if getattr(_pin, "calendar", None) is not None:
        yield
        return
    _pin.calendar = calendar()
    try:
        yield
    finally:
        _pin.calendar = None


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

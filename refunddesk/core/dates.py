"""Dates for people, per language, through Babel (CLDR).

One format per page: a day is CLDR's long date ("October 21, 2026" / "2026年10月21日"), a moment is that
date with the time in hours and minutes, never seconds ("October 21, 2026, 9:56 PM" / "2026年10月21日
21:56"), both in the merchant's time zone (settings.TIME_ZONE, named by `time_zone_name`). A countdown is
Babel's natural one ("in 2 days" / "2天后").
"""

from __future__ import annotations

import datetime as dt

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_time as _babel_time
from babel.dates import format_timedelta as _babel_timedelta
from babel.dates import get_timezone_name
from django.utils import timezone

from refunddesk.core.money import babel_locale


def format_date(value: dt.datetime | dt.date | None, language: str) -> str:
    """The day of `value` (a datetime is taken in the merchant's time zone), CLDR's long date: "October 21,
    2026" / "2026年10月21日". '' for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return _babel_date(value, format="long", locale=babel_locale(language))


def format_datetime(value: dt.datetime | None, language: str) -> str:
    """A moment in the merchant's time zone: the long date and the time without seconds, joined as CLDR
    joins them: "October 21, 2026, 9:56 PM" / "2026年10月21日 21:56". '' for None."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    locale = babel_locale(language)
    pattern = Locale.parse(locale).datetime_formats["medium"]
    time = _babel_time(local.time(), format="short", locale=locale)
    return str(pattern).replace("{1}", format_date(local.date(), language)).replace("{0}", time)


def format_countdown(value: dt.datetime | None, language: str, *, now: dt.datetime | None = None) -> str:
    """How far `value` is from `now` (default: now), as people say it: "in 2 days", "5 hours ago" /
    "2天后", "5小时前" (Babel's format_timedelta, rounded to the largest unit). '' for None."""
    if value is None:
        return ""
    delta = value - (now or timezone.now())
    return _babel_timedelta(delta, add_direction=True, locale=babel_locale(language))


def time_zone_name(language: str) -> str:
    """The merchant's time zone (settings.TIME_ZONE) as people know it: "China Standard Time" / "中国标准时间"."""
    return get_timezone_name(timezone.localtime(timezone.now()), "long", locale=babel_locale(language))

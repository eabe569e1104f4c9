"""Dates for people, per language, through Babel (CLDR)."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from django.utils import timezone

from refunddesk.core.money import babel_locale


def format_date(value: dt.datetime | dt.date | None, language: str) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value).date()
    return _babel_date(value, format="long", locale=babel_locale(language))


def format_datetime(value: dt.datetime | None, language: str) -> str:
    if value is None:
        return ""
    return _babel_datetime(timezone.localtime(value), format="medium", locale=babel_locale(language))

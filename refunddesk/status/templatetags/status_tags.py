"""Names and times in the page's language: {{ region|local_name:LANG }}, {{ when|when:LANG }}."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.translation import gettext as _

from refunddesk.core.dates import format_date, format_datetime

register = template.Library()


def _zh(lang: str | None) -> bool:
    return (lang or "").lower().startswith("zh")


@register.filter
def local_name(region, lang: str) -> str:
    return region.name(lang)


@register.filter
def local_title(incident, lang: str) -> str:
    return incident.title(lang)


@register.filter
def local_message(update, lang: str) -> str:
    return update.message(lang)


@register.filter
def when(value: dt.datetime | None, lang: str) -> str:
    return format_datetime(value, lang)


@register.filter
def day(value: dt.date | dt.datetime | None, lang: str) -> str:
    return format_date(value, lang)


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """3 d 4 h / 5 h 12 min / 40 min, in the active language."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": mins}
    return _("%(minutes)d min") % {"minutes": max(mins, 1) if value.total_seconds() > 0 else 0}


@register.filter
def hours(value: float) -> str:
    return f"{value:.1f}"

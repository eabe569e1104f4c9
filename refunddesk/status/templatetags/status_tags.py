"""Names and times in the page's language: {{ region|local_name:LANG }}, {{ when|when:LANG }}."""

from __future__ import annotations

import datetime as dt
import functools

from django import template
from django.utils.html import format_html_join
from django.utils.translation import gettext as _

from refunddesk.core.dates import format_date, format_datetime

register = template.Library()


# {{ region|local_name:lang }}, {{ incident|local_title:lang }}, ...: the model's text in the page's language.
_LOCAL_TEXT = {
    "local_name": "name",  # Region
    "local_title": "title",  # Incident
    "local_cause": "cause_text",  # Incident
    "local_force_majeure": "force_majeure_text",  # Incident
    "local_message": "message",  # IncidentUpdate
}
for _filter, _method in _LOCAL_TEXT.items():
    register.filter(_filter, lambda obj, lang, _method=_method: getattr(obj, _method)(lang))


@register.filter
def when(value: dt.datetime | None, lang: str) -> str:
    return format_datetime(value, lang)


@register.filter
def day(value: dt.date | dt.datetime | None, lang: str) -> str:
    if value.__class__ is dt.date:  # the page's 90 days, once per region: formatted once
        return _calendar_day(value, lang)
    return format_date(value, lang)


@functools.lru_cache(maxsize=512)
def _calendar_day(value: dt.date, lang: str) -> str:
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


@register.simple_tag
def day_bar(days, lang: str) -> str:
    """The region's bar: a span per day, its title the date, how it went and the incidents.

    Written here rather than as a template loop: 90 days x every region, and the first visitor
    after each change waits for it (the loop took most of the page's render time)."""
    words = {"ok": _("No incidents"), "degraded": _("Degraded")}

    def title(d) -> str:
        how = words.get(d.level) or _("%(percent)s%% available") % {"percent": d.percent}
        return " · ".join([day(d.date, lang), how, *(i.title(lang) for i in d.incidents)])

    return format_html_join("", '<span class="st-day st-{}" title="{}"></span>', ((d.level, title(d)) for d in days))

"""Start-up checks (`refunddesk check`, and every server start): the holiday calendar deadlines use."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.checks import Warning as CheckWarning
from django.utils import timezone

from refunddesk.core.errors import ApplicationError

# From this day of the year on, a missing schedule for next year is reported (deadlines start to reach it).
_WARN_FROM = (11, 15)


def calendar_check(app_configs=None, **kwargs) -> list[CheckWarning]:
    from refunddesk.refunds import deadlines

    try:
        calendar = deadlines.calendar()
    except ApplicationError as exc:
        return [CheckWarning(str(exc.message), id="refunddesk.W001")]
    out = [CheckWarning(f"a holiday schedule file cannot be used: {problem}", id="refunddesk.W002",
                        hint="Fix or remove the file; calendars/README.md describes the format.")
           for problem in calendar.schedule_problems]
    today = timezone.localdate()
    if (today.month, today.day) >= _WARN_FROM:
        try:
            calendar.is_business_day(dt.date(today.year + 1, 1, 1))
        except ApplicationError:
            out.append(CheckWarning(
                f"no holiday schedule for {calendar.country} {today.year + 1}: deadlines that reach into "
                f"{today.year + 1} cannot be computed.", id="refunddesk.W003",
                hint=f"Record the official schedule in {calendar.country}-{today.year + 1}.yaml in "
                     f"{settings.REFUNDDESK_CALENDARS_DIR} (calendars/README.md), or upgrade the holidays package."))
    return out

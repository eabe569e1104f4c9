"""Start-up checks (`refunddesk check`, and every server start): the holiday calendar deadlines use."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError
from django.utils import timezone

from refunddesk.core.errors import ApplicationError


def calendar_check(app_configs=None, **kwargs) -> list[CheckWarning]:
    from refunddesk.refunds import deadlines

    try:
        calendar = deadlines.calendar()
        year = deadlines.missing_year(timezone.localdate(), calendar)
    except ApplicationError as exc:
        return [CheckWarning(str(exc.message), id="refunddesk.W001")]
    except DatabaseError:  # not migrated yet (`migrate` runs the checks first): nothing to say yet
        return []
    out = [CheckWarning(f"a holiday schedule file cannot be used: {problem}", id="refunddesk.W002",
                        hint="Fix or remove the file; calendars/README.md describes the format.")
           for problem in calendar.schedule_problems]
    if year is not None:
        out.append(CheckWarning(
            f"no holiday schedule for {calendar.country} {year}: deadlines that reach into {year} cannot be "
            "computed.", id="refunddesk.W003",
            hint=f"Record the official schedule in {calendar.country}-{year}.yaml in "
                 f"{settings.REFUNDDESK_CALENDARS_DIR} (calendars/README.md), or upgrade the holidays package; "
                 "then run `refunddesk calendar fill-deadlines`."))
    return out

"""refunddesk calendar check|status|fill-deadlines - the holiday calendar deadlines are counted on.

    refunddesk calendar check FILE         check a schedule file; print what it says, and where it
                                           differs from the `holidays` package's data for that year
    refunddesk calendar status [--years N] where each year's business days come from (this year and
                                           the next N-1), and any schedule file that cannot be used
    refunddesk calendar fill-deadlines     give open requests the deadlines that could not be computed
                                           for lack of a schedule (after recording one, or upgrading
                                           `holidays`); safe to run again

Schedules are YAML files, one per country and year, in REFUNDDESK_CALENDARS_DIR (calendars/README.md).
"""

from __future__ import annotations

import holidays
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refunddesk.core.calendar import compare_with_package, load_schedule
from refunddesk.core.errors import ApplicationError
from refunddesk.refunds import deadlines
from refunddesk.refunds.services import deadlines_fill


class Command(BaseCommand):
    help = "The holiday calendar: check a schedule file, show where each year comes from, fill missing deadlines."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{check,status,fill-deadlines}")
        check = sub.add_parser("check", help="check a schedule file and show what it says")
        check.add_argument("file")
        status = sub.add_parser("status", help="where each year's business days come from")
        status.add_argument("--years", type=int, default=2, help="how many years from this one (default 2)")
        sub.add_parser("fill-deadlines", help="compute the deadlines that could not be computed")

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, "_" + action.replace("-", "_"))(**options)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from None

    def _check(self, *, file: str, **_):
        schedule = load_schedule(file)
        report = compare_with_package(schedule)
        package = f"the holidays package ({holidays.__version__})"
        self.stdout.write(
            f"{file}: valid. {schedule.country} {schedule.year}: {len(schedule.days_off)} days off, "
            f"{len(schedule.working_days)} make-up working day(s), {report.business_days} business days"
            + (f"; source {schedule.source}" if schedule.source else "; no source given (add `source:`)"))
        if not report.package_has_year:
            self.stdout.write(f"{package[0].upper()}{package[1:]} has no official schedule for {schedule.year}: "
                              "this file decides it.")
        elif not report.differences:
            self.stdout.write(f"The same business days as {package} for {schedule.year}.")
        else:
            self.stdout.write(f"Differs from {package} on {len(report.differences)} day(s); the file wins:")
            for day, business in report.differences:
                self.stdout.write(f"  {day.isoformat()} {day.strftime('%a')}: " + (
                    "business day in the file, day off in the package" if business
                    else "day off in the file, business day in the package"))

    def _status(self, *, years: int, **_):
        calendar = deadlines.calendar()
        self.stdout.write(f"country {calendar.country} ({calendar.country_name}), time zone {calendar.tz}, "
                          f"schedules from {settings.REFUNDDESK_CALENDARS_DIR}")
        this_year = timezone.localdate().year
        for year in range(this_year, this_year + max(years, 1)):
            kind, schedule = calendar.source(year)
            where = {
                "package": f"the holidays package {holidays.__version__}",
                "console": "recorded in the console (Holiday calendar page)",
                "file": f"schedule file {schedule.origin if schedule else ''}",
                "missing": (f"MISSING: deadlines reaching {year} cannot be computed; record "
                            f"{calendar.country}-{year}.yaml (calendars/README.md)"),
            }[kind]
            self.stdout.write(f"  {year}: {where}")
        for problem in calendar.schedule_problems:
            self.stderr.write(f"cannot use: {problem}")

    def _fill_deadlines(self, **_):
        result = deadlines_fill()
        self.stdout.write(f"{len(result.filled)} request(s) given their deadlines"
                          + (f": {', '.join(result.filled)}" if result.filled else ""))
        if result.arrivals:
            self.stdout.write(f"{len(result.arrivals)} paid refund(s) given their arrival dates: "
                              f"{', '.join(result.arrivals)}")
        for public_id, why in sorted(result.missing.items()):
            self.stderr.write(f"{public_id}: still no deadline: {why}")
        if result.missing:
            raise CommandError(f"{len(result.missing)} request(s) still have no deadline; see above")

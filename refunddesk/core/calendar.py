"""Business days and business-day deadlines.

Pure: no Django. Callers read ``settings.REFUNDDESK_HOLIDAY_COUNTRY`` (and the
time zone) and pass them in; :func:`get_calendar` caches one calendar per setup.

Holiday data comes from the ``holidays`` package, never from a hand-written
list. A date is a **business day** when the package says it is a working day:
it is not a weekend day and not a public holiday, *or* it is an official
make-up working day (China's 调休 Saturdays/Sundays, exposed by the package as
``weekend_workdays``).

Missing schedules
-----------------
``holidays`` extrapolates future years silently: for China it computes the
fixed and lunar holidays of, say, 2027 but cannot know the State Council's
make-up working days before they are published (each autumn, for the next
year). A China calendar built from such a year would count make-up Saturdays
as days off and put deadlines on the wrong day. So for countries listed in
:data:`MAKEUP_DAY_COUNTRIES` a year with **no make-up working day recorded** is
refused with :class:`~refunddesk.core.errors.ConfigurationError` naming the
year, the first time any computation touches a day of that year. Every China
year the package covers (2001-2026 in ``holidays`` 0.109) has at least five.

Schedules the merchant records
------------------------------
The State Council publishes next year's schedule in November; a ``holidays``
release with it may come weeks later. Meanwhile the merchant can record the
official schedule as one YAML file per country and year (see
``calendars/README.md``): its days off and its make-up working days. A
:class:`Schedule` is data only; for its year the calendar's business days are
the country's working weekdays (weekend days as the package defines them) that
are not days off, plus the make-up working days. A recorded year wins over the
package's data for that year (``refunddesk calendar check`` shows where the two
differ).

Deadline rule (:meth:`BusinessCalendar.add_business_days`)
----------------------------------------------------------
A request received at any instant of local day D (in the calendar's time zone,
business day or not) is due at the **end of the n-th business day after D**:
23:59:59.999999 local time on that day. The day of receipt never counts, so a
request received on a holiday or a weekend is counted from the next business
day (which is day 1), exactly as one received on the evening before the
holiday. ``n`` must be at least 1.

Pausing (:meth:`BusinessCalendar.extend_by_pause`)
--------------------------------------------------
While a case waits for the customer its deadline is paused. The due time is
pushed forward by the *business time* that elapsed during the pause: the part
of ``[paused_from, resumed_at)`` that falls on business days, each business day
counting as the whole local day ``[00:00, 24:00)``. Time on weekends and
holidays adds nothing. The business time is then added to the due time by the
same measure: it is consumed only on business days. So a pause of exactly one
business day moves a due time of "end of day X" to "end of the next business
day after X". All arithmetic is exact (``timedelta``, microseconds) and done in
UTC, so days of 23 or 25 hours in zones with daylight saving are measured as
they are.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml

from refunddesk.core.errors import ConfigurationError, ValidationError

__all__ = [
    "DEFAULT_TZ",
    "END_OF_DAY",
    "MAKEUP_DAY_COUNTRIES",
    "RECORDED",
    "BusinessCalendar",
    "Schedule",
    "ScheduleComparison",
    "compare_with_package",
    "get_calendar",
    "load_schedule",
    "load_schedules",
]

DEFAULT_TZ = "Asia/Shanghai"

#: Local time at which a business-day deadline falls due.
END_OF_DAY = time(23, 59, 59, 999999)

#: Countries whose official calendar has make-up working days every year, and
#: whose years without any recorded are therefore refused (see module docs).
MAKEUP_DAY_COUNTRIES = frozenset({"CN"})

_ONE_DAY = timedelta(days=1)
_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class _Year:
    days: tuple[date, ...]  # business days of the year, sorted
    day_set: frozenset[date]


def _country_name(entity: holidays.HolidayBase) -> str:
    """'China', 'United States'... from the package's class hierarchy (CN -> China)."""
    for klass in type(entity).__mro__:
        name = klass.__name__
        if len(name) > 3 and not name.isupper():
            return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return getattr(entity, "country", "") or "this country"


@dataclass(frozen=True, slots=True)
class Schedule:
    """One country's official holiday schedule for one year, as the merchant recorded it."""

    country: str
    year: int
    days_off: frozenset[date]
    working_days: frozenset[date]  # make-up working days: weekend days that are worked
    source: str = ""  # where the schedule was published
    origin: str = ""  # the file it was read from

    def is_business_day(self, d: date, weekend: frozenset[int] | set[int]) -> bool:
        return d in self.working_days or (d.weekday() not in weekend and d not in self.days_off)


_SCHEDULE_KEYS = {"country", "year", "source", "days_off", "working_days"}
_SCHEDULE_NAME = re.compile(r"^([A-Za-z]{2})-(\d{4})\.ya?ml$")


class _ScheduleLoader(yaml.SafeLoader):
    """YAML with dates left as text, so that a date that does not exist (2027-13-03) is reported
    with its entry like any other mistake, not as a bare ValueError from the YAML reader."""


_ScheduleLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def _schedule_date(value: object, where: str, year: int | None, problems: list[str]) -> date | None:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            pass
    if isinstance(value, datetime) or not isinstance(value, date):
        problems.append(f"{where}: {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2027-01-01")
        return None
    if year is not None and value.year != year:
        problems.append(f"{where}: {value.isoformat()} is not in {year}, the year this schedule is for")
        return None
    return value


def schedule_text(*, country: str, year: int, source: str = "", days_off: Sequence[tuple[str, date, date]] = (),
                  working_days: Sequence[date] = ()) -> str:
    """The schedule document (the format parse_schedule reads, calendars/README.md) of a year's notice given as
    fields: `days_off` as (name, first day, last day) ranges, `working_days` as dates. Not checked here:
    parse_schedule checks it, as it checks a file."""
    doc: dict = {"country": country.strip().upper(), "year": year}
    if source.strip():
        doc["source"] = source.strip()
    doc["days_off"] = [{**({"name": name} if name else {}), "from": first, "to": last or first}
                       for name, first, last in days_off]
    doc["working_days"] = sorted(working_days)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, default_flow_style=None)


def schedule_fields(text: str) -> dict:
    """A schedule document as fields, for a form: {country, year, source, days_off: [(name, first, last)],
    working_days: [date]}; what cannot be read is left out (a recorded document was checked when recorded)."""
    try:
        doc = yaml.load(text, Loader=_ScheduleLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError:
        doc = None
    doc = doc if isinstance(doc, dict) else {}

    def day(value):
        try:
            return value if isinstance(value, date) else date.fromisoformat(str(value).strip())
        except ValueError:
            return None

    days_off = []
    for entry in doc.get("days_off") or []:
        if isinstance(entry, dict) and day(entry.get("from")):
            days_off.append((str(entry.get("name") or ""), day(entry["from"]),
                             day(entry.get("to", entry["from"])) or day(entry["from"])))
    working = [d for d in (day(v) for v in doc.get("working_days") or []) if d]
    return {"country": str(doc.get("country") or ""), "year": doc.get("year"),
            "source": str(doc.get("source") or ""), "days_off": days_off, "working_days": working}


def parse_schedule(text: str, origin: str = "<schedule>") -> Schedule:
    """Read and check one schedule document. Every problem is named (the entry and what to write
    instead) in one ValidationError, one problem per line."""
    try:
        doc = yaml.load(text, Loader=_ScheduleLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise ValidationError(f"{origin}: not valid YAML: {exc}", code="schedule_invalid") from None
    if not isinstance(doc, dict):
        raise ValidationError(
            f"{origin}: a schedule is a mapping with country, year, days_off and working_days "
            "(see calendars/README.md)", code="schedule_invalid")
    problems: list[str] = []
    unknown = sorted(str(k) for k in doc if k not in _SCHEDULE_KEYS)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)}; the keys are: {', '.join(sorted(_SCHEDULE_KEYS))}")
    country = str(doc.get("country") or "").strip().upper()
    weekend: set[int] = {5, 6}
    try:
        weekend = set(holidays.country_holidays(country, years=()).weekend)
    except (NotImplementedError, KeyError):
        problems.append(f"country: {doc.get('country')!r} is not a country the holidays package knows; "
                        "write its ISO 3166-1 alpha-2 code, e.g. CN")
    year = doc.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 9999:
        problems.append(f"year: {year!r} is not a year; write it as four digits, e.g. 2027")
        year = None
    days_off: set[date] = set()
    entries = doc.get("days_off")
    if not isinstance(entries, list) or not entries:
        problems.append("days_off: list every holiday as `- {name: ..., from: YYYY-MM-DD, to: YYYY-MM-DD}`")
        entries = []
    for k, entry in enumerate(entries, 1):
        where = f"days_off, entry {k}"
        if not isinstance(entry, dict) or "from" not in entry:
            problems.append(f"{where}: write it as {{name: ..., from: YYYY-MM-DD, to: YYYY-MM-DD}} "
                            "(to may be left out for a single day)")
            continue
        where = f"days_off, entry {k} ({entry.get('name') or 'no name'})"
        extra = sorted(str(key) for key in entry if key not in ("name", "from", "to"))
        if extra:
            problems.append(f"{where}: unknown key(s) {', '.join(extra)}; an entry has name, from and to")
            continue
        first = _schedule_date(entry["from"], f"{where}, from", year, problems)
        last = _schedule_date(entry.get("to", entry["from"]), f"{where}, to", year, problems)
        if first is None or last is None:
            continue
        if last < first:
            problems.append(f"{where}: it ends ({last.isoformat()}) before it starts ({first.isoformat()})")
            continue
        while first <= last:
            days_off.add(first)
            first += _ONE_DAY
    working: set[date] = set()
    listed = doc.get("working_days") or []
    if not isinstance(listed, list):
        problems.append("working_days: list the make-up working days as `- YYYY-MM-DD`, or write []")
        listed = []
    for k, value in enumerate(listed, 1):
        d = _schedule_date(value, f"working_days, entry {k}", year, problems)
        if d is None:
            continue
        if d.weekday() not in weekend:
            problems.append(f"working_days, entry {k}: {d.isoformat()} is a {d.strftime('%A')}, a working day "
                            "anyway; list only the weekend days that are worked")
        elif d in days_off:
            problems.append(f"working_days, entry {k}: {d.isoformat()} is also listed as a day off")
        working.add(d)
    name = _SCHEDULE_NAME.match(Path(origin).name)
    if name and country and year and (name.group(1).upper(), int(name.group(2))) != (country, year):
        problems.append(f"the file is named for {name.group(1).upper()} {name.group(2)} but holds {country} {year}")
    if problems:
        raise ValidationError(
            "\n".join(f"{origin}: {p}" for p in problems), code="schedule_invalid", problems=problems)
    source = str(doc.get("source") or "").strip()
    assert year is not None  # noqa: S101 - checked above
    return Schedule(country, year, frozenset(days_off), frozenset(working), source, origin)


def load_schedule(path: str | Path) -> Schedule:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read the schedule: {exc.strerror or exc}",
                              code="schedule_invalid") from None
    return parse_schedule(text, str(path))


def load_schedules(directory: str | Path | None) -> tuple[dict[tuple[str, int], Schedule], list[str]]:
    """Every ``*.yaml`` schedule in ``directory`` by (country, year), and what is wrong with the files
    that cannot be used (each message names the file; such a file is left out). A missing directory
    holds none."""
    found: dict[tuple[str, int], Schedule] = {}
    problems: list[str] = []
    if not directory or not Path(directory).is_dir():
        return found, problems
    for path in sorted(Path(directory).glob("*.y*ml")):
        try:
            schedule = load_schedule(path)
        except ValidationError as exc:
            problems.append(f"{exc.message}\n(check it with `refunddesk calendar check {path}`)")
            continue
        key = (schedule.country, schedule.year)
        if key in found:
            problems.append(f"{path}: a second schedule for {key[0]} {key[1]} (the first is {found[key].origin}); "
                            "keep one")
            continue
        found[key] = schedule
    return found, problems


@dataclass(frozen=True, slots=True)
class ScheduleComparison:
    """A recorded schedule next to the `holidays` package's data for the same year."""

    business_days: int  # in the year, by the schedule
    package_has_year: bool  # False: the package has no official schedule for the year (the file decides)
    differences: tuple[tuple[date, bool], ...]  # (day, a business day by the file?) where the two disagree


def compare_with_package(schedule: Schedule) -> ScheduleComparison:
    ours = BusinessCalendar(schedule.country, schedules={schedule.year: schedule})._year(schedule.year).day_set
    package = holidays.country_holidays(schedule.country, years=schedule.year)
    if schedule.country in MAKEUP_DAY_COUNTRIES and not any(d.year == schedule.year for d in package.weekend_workdays):
        return ScheduleComparison(len(ours), False, ())
    theirs = BusinessCalendar._days(schedule.year, package.is_working_day).day_set
    return ScheduleComparison(len(ours), True, tuple((d, d in ours) for d in sorted(ours ^ theirs)))


class BusinessCalendar:
    """Business days of one country (and optional subdivision) seen from one time zone.

    ``tz`` is the zone in which a datetime's calendar day is decided (default
    Asia/Shanghai; pass the merchant's zone for other countries). The holiday
    data of each year is loaded on first use and kept as a frozenset.
    ``require_makeup_days`` overrides the :data:`MAKEUP_DAY_COUNTRIES` default.
    ``schedules`` are official schedules recorded by the merchant, by year: they decide their years.
    """

    def __init__(
        self,
        country: str = "CN",
        subdiv: str | None = None,
        tz: str | tzinfo = DEFAULT_TZ,
        *,
        require_makeup_days: bool | None = None,
        schedules: Mapping[int, Schedule] | None = None,
        schedule_problems: Sequence[str] = (),
    ) -> None:
        code = (country or "").strip().upper()
        try:
            probe = holidays.country_holidays(code, subdiv=subdiv, years=())
        except NotImplementedError as exc:
            raise ConfigurationError(
                f"the holidays package has no calendar for country {country!r}"
                + (f" subdivision {subdiv!r}" if subdiv else "")
                + f" ({exc}); set REFUNDDESK_HOLIDAY_COUNTRY to an ISO 3166-1 alpha-2 code such as CN or US",
                code="holiday_country_unknown",
            ) from exc
        if isinstance(tz, str):
            try:
                tz = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ConfigurationError(f"unknown time zone {tz!r}", code="time_zone_unknown") from exc
        self.country = code
        self.subdiv = subdiv
        self.tz: tzinfo = tz
        self.country_name = _country_name(probe)
        self.weekend = frozenset(probe.weekend)
        self.schedules: dict[int, Schedule] = dict(schedules or {})
        self.schedule_problems = tuple(schedule_problems)  # files that could not be used, and why
        wrong = [s for s in self.schedules.values() if s.country != code]
        if wrong:
            raise ConfigurationError(f"the schedule {wrong[0].origin} is for {wrong[0].country}, not {code}")
        self.require_makeup_days = (
            code in MAKEUP_DAY_COUNTRIES if require_makeup_days is None else require_makeup_days
        )
        self._years: dict[int, _Year] = {}

    def __repr__(self) -> str:
        sub = f", subdiv={self.subdiv!r}" if self.subdiv else ""
        return f"BusinessCalendar({self.country!r}{sub}, tz={str(self.tz)!r})"

    # -- per-year data ---------------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        data = self._years.get(year)
        if data is None:
            data = self._years[year] = self._load(year)
        return data

    def source(self, year: int) -> tuple[str, Schedule | None]:
        """Where ``year``'s business days come from: ("console" or "file", the schedule) when the
        merchant recorded it, ("package", None), or ("missing", None) when deadlines that reach the
        year cannot be computed."""
        schedule = self.schedules.get(year)
        if schedule is not None:
            return ("console" if schedule.origin == RECORDED else "file"), schedule
        try:
            self._year(year)
        except ConfigurationError:
            return "missing", None
        return "package", None

    def _load(self, year: int) -> _Year:
        if not date.min.year <= year <= date.max.year:
            raise ValidationError(f"year {year} is out of range")
        schedule = self.schedules.get(year)
        if schedule is not None:
            return self._days(year, lambda d: schedule.is_business_day(d, self.weekend))
        entity = holidays.country_holidays(self.country, subdiv=self.subdiv, years=year)
        if self.require_makeup_days and not any(d.year == year for d in entity.weekend_workdays):
            when = (
                "The State Council publishes each year's schedule in the autumn before"
                if self.country == "CN"
                else "Each year's schedule is published in advance"
            )
            raise ConfigurationError(
                f"no official holiday schedule for {self.country_name} in {year} yet: the installed "
                f"`holidays` package ({holidays.__version__}) records no make-up working days for {year}, "
                f"and without them business-day deadlines would be wrong. {when}; record it in "
                f"{self.country}-{year}.yaml in the calendars directory (REFUNDDESK_CALENDARS_DIR; see "
                f"calendars/README.md), or upgrade the `holidays` package "
                f"to a release that includes {year}."
                + "".join(f"\nA schedule file could not be used: {p}" for p in self.schedule_problems),
                code="holiday_schedule_missing",
                country=self.country,
                year=year,
            )
        return self._days(year, entity.is_working_day)

    @staticmethod
    def _days(year: int, is_working: Callable[[date], bool]) -> _Year:
        days: list[date] = []
        d = date(year, 1, 1)
        while d.year == year:
            if is_working(d):
                days.append(d)
            if d == date.max:
                break
            d += _ONE_DAY
        return _Year(tuple(days), frozenset(days))

    # -- days ------------------------------------------------------------------------------

    @staticmethod
    def _check_date(d: object) -> date:
        if isinstance(d, datetime) or not isinstance(d, date):
            raise ValidationError(f"expected a date, got {d!r}")
        return d

    def is_business_day(self, d: date) -> bool:
        """True if ``d`` is a working day (weekday and not a holiday, or a make-up working day)."""
        if type(d) is not date:
            d = self._check_date(d)
        data = self._years.get(d.year)
        if data is None:
            data = self._year(d.year)
        return d in data.day_set

    def nth_business_day_after(self, d: date, n: int) -> date:
        """The n-th business day strictly after ``d`` (n >= 1)."""
        d = self._check_date(d)
        n = self._check_n(n)
        year = d.year
        days = self._year(year).days
        i = bisect_right(days, d)
        while True:
            available = len(days) - i
            if n <= available:
                return days[i + n - 1]
            n -= available
            year += 1
            if year > date.max.year:
                raise ValidationError(f"no business day that far after {d.isoformat()}")
            days = self._year(year).days
            i = 0

    def next_business_day(self, d: date) -> date:
        """The first business day strictly after ``d``."""
        return self.nth_business_day_after(d, 1)

    def business_days(self, start: date, end: date) -> list[date]:
        """Business days in ``[start, end]``, both ends included; empty if end < start."""
        start, end = self._check_date(start), self._check_date(end)
        out: list[date] = []
        for year in range(start.year, end.year + 1):
            days = self._year(year).days
            out.extend(days[bisect_left(days, start) : bisect_right(days, end)])
        return out

    def business_days_between(self, start: date, end: date) -> int:
        """How many business days fall after ``start`` up to ``end`` (included): the business days a step from
        ``start`` to ``end`` took; 0 when ``end`` is not after ``start``. Counted on the per-year tables, no list
        is built (the reports count this for every pair of days)."""
        start, end = self._check_date(start), self._check_date(end)
        count = 0
        for year in range(start.year, end.year + 1):
            days = self._year(year).days
            count += bisect_right(days, end) - bisect_right(days, start)
        return max(0, count)

    # -- deadlines -------------------------------------------------------------------------

    @staticmethod
    def _check_n(n: object) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValidationError(f"number of business days must be a whole number of at least 1, got {n!r}")
        return n

    @staticmethod
    def _check_aware(value: object, name: str) -> datetime:
        if not isinstance(value, datetime):
            raise ValidationError(f"{name} must be a datetime, got {value!r}", field=name)
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(f"{name} must be timezone-aware, got {value.isoformat()}", field=name)
        return value

    def local_date(self, moment: datetime) -> date:
        """The calendar day of ``moment`` in the calendar's time zone."""
        return self._check_aware(moment, "moment").astimezone(self.tz).date()

    def _day_start_utc(self, d: date) -> datetime:
        return datetime.combine(d, time.min, tzinfo=self.tz).astimezone(UTC)

    def add_business_days(self, start: datetime, n: int) -> datetime:
        """Deadline for something received at ``start``: end of the n-th business day after its local day.

        Returns 23:59:59.999999 in the calendar's time zone. See the module docs.
        """
        day = self.nth_business_day_after(self.local_date(self._check_aware(start, "start")), n)
        return datetime.combine(day, END_OF_DAY, tzinfo=self.tz)

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Exact length of the part of ``[a, b)`` that falls on business days (whole local days)."""
        a = self._check_aware(a, "a").astimezone(UTC)
        b = self._check_aware(b, "b").astimezone(UTC)
        if b < a:
            raise ValidationError(f"end {b.isoformat()} is before start {a.isoformat()}")
        if a == b:
            return _ZERO
        total = _ZERO
        first, last = a.astimezone(self.tz).date(), b.astimezone(self.tz).date()
        for d in self.business_days(first, last):
            lo = max(a, self._day_start_utc(d))
            hi = min(b, self._day_start_utc(d + _ONE_DAY))
            if hi > lo:
                total += hi - lo
        return total

    def elapsed_business_seconds(self, a: datetime, b: datetime) -> float:
        """:meth:`business_time_between` in seconds."""
        return self.business_time_between(a, b).total_seconds()

    def add_business_time(self, moment: datetime, amount: timedelta) -> datetime:
        """The earliest instant r with ``business_time_between(moment, r) == amount``.

        Business time is consumed only on business days; weekends and holidays are skipped.
        Returned in the calendar's time zone.
        """
        moment = self._check_aware(moment, "moment")
        if not isinstance(amount, timedelta) or amount < _ZERO:
            raise ValidationError(f"amount must be a non-negative timedelta, got {amount!r}")
        if amount == _ZERO:
            return moment.astimezone(self.tz)
        cursor = moment.astimezone(UTC)
        d = cursor.astimezone(self.tz).date()
        if not self.is_business_day(d):
            d = self.next_business_day(d)
            cursor = self._day_start_utc(d)
        while True:
            available = self._day_start_utc(d + _ONE_DAY) - cursor
            if amount <= available:
                return (cursor + amount).astimezone(self.tz)
            amount -= available
            d = self.next_business_day(d)
            cursor = self._day_start_utc(d)

    def extend_by_pause(self, due: datetime, paused_from: datetime, resumed_at: datetime) -> datetime:
        """Push ``due`` forward by the business time elapsed in ``[paused_from, resumed_at)``."""
        return self.add_business_time(due, self.business_time_between(paused_from, resumed_at))


RECORDED = "the console"  # the origin of a schedule recorded in the console (core.models.HolidaySchedule)


def get_calendar(
    country: str = "CN", subdiv: str | None = None, tz: str = DEFAULT_TZ, schedules_dir: str | Path | None = None,
    recorded: tuple[str, ...] = (),
) -> BusinessCalendar:
    """One shared :class:`BusinessCalendar` per (country, subdivision, time zone, schedules).

    With ``schedules_dir``, the country's schedules in it decide their years; a file added or
    changed there is seen on the next call (the directory's listing and modification times are
    part of the cache key), without a restart. ``recorded`` are schedule documents recorded in the
    console: they decide their years over files.
    """
    stamp: tuple[tuple[str, int, int], ...] = ()
    if schedules_dir and Path(schedules_dir).is_dir():
        stamp = tuple(
            (p.name, st.st_mtime_ns, st.st_size)
            for p in sorted(Path(schedules_dir).glob("*.y*ml"))
            for st in (p.stat(),)
        )
    return _calendar(country.strip().upper(), subdiv, tz, str(schedules_dir or ""), stamp, tuple(recorded))


@lru_cache(maxsize=32)
def _calendar(
    country: str, subdiv: str | None, tz: str, schedules_dir: str, stamp: tuple[tuple[str, int, int], ...],
    recorded: tuple[str, ...],
) -> BusinessCalendar:
    found, problems = load_schedules(schedules_dir) if stamp else ({}, [])
    schedules = {year: s for (c, year), s in found.items() if c == country}
    for text in recorded:
        try:
            schedule = parse_schedule(text, RECORDED)
        except ValidationError as exc:  # checked when recorded; only a change of the rules can get here
            problems.append(exc.message)
            continue
        if schedule.country == country:
            schedules[schedule.year] = schedule
    return BusinessCalendar(country, subdiv, tz, schedules=schedules, schedule_problems=problems)

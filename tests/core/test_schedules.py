"""Holiday schedules the merchant records for years the `holidays` package does not have yet."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from refunddesk.core.calendar import BusinessCalendar, get_calendar, load_schedules, parse_schedule
from refunddesk.core.errors import ConfigurationError, ValidationError

README = Path(__file__).resolve().parents[2] / "calendars" / "README.md"

GOOD_2027 = """\
country: CN
year: 2027
days_off:
  - {name: New Year, from: 2027-01-01, to: 2027-01-03}
  - {name: Spring Festival, from: 2027-02-06, to: 2027-02-12}
working_days: [2027-02-20]
"""  # illustrative, NOT the official 2027 schedule


def readme_example() -> str:
    return re.search(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)


def days_of(year: int) -> list[date]:
    return [date(year, 1, 1) + timedelta(days=k) for k in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]


def test_the_readme_example_gives_exactly_the_packages_2026_business_days():
    schedule = parse_schedule(readme_example(), "CN-2026.yaml")
    recorded = BusinessCalendar("CN", schedules={2026: schedule})
    package = BusinessCalendar("CN")
    assert [d for d in days_of(2026) if recorded.is_business_day(d)] == [
        d for d in days_of(2026) if package.is_business_day(d)]
    assert len(schedule.working_days) == 6 and schedule.source.startswith("https://www.gov.cn/")


def test_a_recorded_year_decides_deadlines_the_package_cannot():
    with pytest.raises(ConfigurationError, match="2027"):
        BusinessCalendar("CN").is_business_day(date(2027, 1, 4))
    cal = BusinessCalendar("CN", schedules={2027: parse_schedule(GOOD_2027)})
    assert not cal.is_business_day(date(2027, 1, 1))  # a day off
    assert cal.is_business_day(date(2027, 1, 4))  # an ordinary Monday
    assert not cal.is_business_day(date(2027, 2, 8))  # a weekday inside the Spring Festival
    assert cal.is_business_day(date(2027, 2, 20))  # a make-up Saturday
    assert not cal.is_business_day(date(2027, 2, 27))  # an ordinary Saturday
    assert cal.nth_business_day_after(date(2026, 12, 30), 3) == date(2027, 1, 5)  # across the years


@pytest.mark.parametrize(("change", "message"), [
    (("2027-01-03}", "2027-13-03}"), "days_off, entry 1 (New Year), to: '2027-13-03' is not a date; write it as YYYY-MM-DD"),
    (("from: 2027-02-06, to: 2027-02-12", "from: 2027-02-12, to: 2027-02-06"),
     "days_off, entry 2 (Spring Festival): it ends (2027-02-06) before it starts (2027-02-12)"),
    (("to: 2027-01-03", "to: 2028-01-03"), "is not in 2027, the year this schedule is for"),
    (("[2027-02-20]", "[2027-02-22]"), "working_days, entry 1: 2027-02-22 is a Monday, a working day anyway"),
    (("[2027-02-20]", "[2027-02-06]"), "working_days, entry 1: 2027-02-06 is also listed as a day off"),
    (("country: CN", "country: XX"), "country: 'XX' is not a country the holidays package knows"),
    (("year: 2027", "year: next"), "year: 'next' is not a year"),
    (("working_days:", "workdays:"), "unknown key(s) workdays"),
    (("to: 2027-02-12", "until: 2027-02-12"), "entry 2 (Spring Festival): unknown key(s) until; an entry has name"),
    (("days_off:\n", "days_off: []\nx:\n"), "days_off: list every holiday"),
])
def test_each_mistake_is_named_with_what_to_write(change, message):
    with pytest.raises(ValidationError) as caught:
        parse_schedule(GOOD_2027.replace(*change), "CN-2027.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("CN-2027.yaml: ")


def test_the_file_name_must_match_what_it_holds():
    with pytest.raises(ValidationError, match="named for CN 2028 but holds CN 2027"):
        parse_schedule(GOOD_2027, "calendars/CN-2028.yaml")


def test_a_bad_file_is_left_out_and_named_where_its_year_is_needed(tmp_path):
    (tmp_path / "CN-2027.yaml").write_text(GOOD_2027.replace("[2027-02-20]", "[2027-02-22]"), encoding="utf-8")
    (tmp_path / "CN-2028.yaml").write_text(GOOD_2027.replace("2027", "2028").replace("[2028-02-20]", "[]"),
                                           encoding="utf-8")
    found, problems = load_schedules(tmp_path)
    assert list(found) == [("CN", 2028)]
    assert len(problems) == 1 and "CN-2027.yaml" in problems[0] and "refunddesk calendar check" in problems[0]
    cal = get_calendar("CN", schedules_dir=tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        cal.is_business_day(date(2027, 3, 1))
    assert "2027-02-22 is a Monday" in str(caught.value)
    assert cal.is_business_day(date(2028, 1, 4))


def test_get_calendar_sees_a_new_or_changed_file_without_a_restart(tmp_path):
    first = get_calendar("CN", schedules_dir=tmp_path)
    assert get_calendar("CN", schedules_dir=tmp_path) is first  # cached while nothing changes
    with pytest.raises(ConfigurationError):
        first.is_business_day(date(2027, 1, 4))
    (tmp_path / "CN-2027.yaml").write_text(GOOD_2027, encoding="utf-8")
    assert get_calendar("CN", schedules_dir=tmp_path).is_business_day(date(2027, 1, 4))
    (tmp_path / "CN-2027.yaml").write_text(GOOD_2027.replace("to: 2027-01-03", "to: 2027-01-04"), encoding="utf-8")
    assert not get_calendar("CN", schedules_dir=tmp_path).is_business_day(date(2027, 1, 4))


def test_another_countrys_file_does_not_touch_this_calendar(tmp_path):
    (tmp_path / "CN-2027.yaml").write_text(GOOD_2027, encoding="utf-8")
    us = get_calendar("US", None, "America/New_York", schedules_dir=tmp_path)
    assert us.schedules == {}
    assert us.is_business_day(date(2027, 1, 4)) and not us.is_business_day(date(2027, 1, 1))


"""A supervisor records a year's holiday schedule in the console, in real Chromium.

Screenshots: screenshots/console-calendar*.png.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shoot, sign_in

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEDULE_2027 = """\
country: CN
year: 2027
source: test data (not the official notice)
days_off:
  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
working_days: []
"""


def test_a_supervisor_records_the_missing_year(new_page, supervisor, settings, tmp_path):
    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)  # the live server reads the same settings
    page = new_page("zh-CN")
    sign_in(page, supervisor.username)
    page.goto("/console/calendar/")
    expect(page.locator("#year-2027")).to_contain_text("缺失")
    page.locator("#year-2027 a", has_text="录入").click()
    page.locator("button[value=record]").click()  # the empty template: refused, the problems listed
    expect(page.locator("#schedule-problem")).to_contain_text("days_off")
    shoot(page, "console-calendar-problem-zh")
    page.locator("#id_document").fill(SCHEDULE_2027)
    page.locator("button[value=record]").click()
    expect(page.locator(".messages")).to_contain_text("2027 年的节假日安排已录入")
    expect(page.locator("#year-2027")).to_contain_text("放假 3 天，调休上班 0 天")
    shoot(page, "console-calendar-zh")

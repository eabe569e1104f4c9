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

def test_a_supervisor_records_the_missing_year(new_page, supervisor, settings, tmp_path):
    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)  # the live server reads the same settings
    page = new_page("zh-CN")
    sign_in(page, supervisor.username)
    page.goto("/console/calendar/")
    expect(page.locator("#year-2027")).to_contain_text("缺失")
    page.locator("#year-2027 a", has_text="录入").click()
    expect(page.locator("#package-days")).to_contain_text("元旦")  # the package's days, for comparison
    page.locator("button[value=record]").click()  # nothing filled in: refused, said beside the days off
    expect(page.locator("#days-off-error")).to_be_visible()
    shoot(page, "console-calendar-problem-zh")
    page.locator("#id_source").fill("test data (not the official notice)")
    page.locator("#id_off-0-name").fill("元旦")
    page.locator("#id_off-0-start").fill("2027-01-01")
    page.locator("#id_off-0-end").fill("2027-01-03")
    page.locator("button[value=record]").click()
    expect(page.locator(".messages")).to_contain_text("2027 年的节假日安排已录入")
    expect(page.locator("#year-2027")).to_contain_text("放假 3 天，调休上班 0 天")
    shoot(page, "console-calendar-zh")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/console/calendar/?year=2027")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shoot(page, f"console-calendar-form-zh-{width}")

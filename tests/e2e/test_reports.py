"""Reports in real Chromium (issue 20): each report in both languages, its charts drawn with data, at 1280 and
390 px. Screenshots: screenshots/reports-<name>-<lang>-<width>.png; the replay and the ledger form too."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS, sign_in
from tests.reports.data import report_history
from tests.tasks import run_tasks

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _page(browser, live_server, locale: str, width: int):
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900},
                                  extra_http_headers={"Accept-Language": locale})
    context.set_default_timeout(15_000)
    return context, context.new_page()


def test_each_report_draws_its_charts_with_data_in_both_languages(browser, live_server, published_policy, agent,
                                                                   supervisor, supervisor2, finance):
    report_history(agent=agent, supervisor=supervisor, supervisor2=supervisor2, finance=finance)
    SCREENSHOTS.mkdir(exist_ok=True)
    errors: list[str] = []
    for locale, lang in (("en-US", "en"), ("zh-CN", "zh")):
        for width in (1280, 390):
            context, page = _page(browser, live_server, locale, width)
            page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
            sign_in(page, finance.username)
            if lang == "en" and width == 1280:  # the figures were never built: the page says so and offers a rebuild
                page.goto("/console/reports/requests/")
                expect(page.locator("#report-as-of")).to_contain_text("not been built yet")
                page.get_by_role("button", name="Refresh now").click()
                expect(page.locator(".messages, .flash, [role=status]").first).to_contain_text("being rebuilt")
                run_tasks()
                page.reload()
                expect(page.locator("#report-as-of")).to_contain_text("Figures as of")
            for name in ("requests", "handling", "money"):
                page.goto(f"/console/reports/{name}/")
                charts = page.locator("section.chart-panel")
                assert charts.count() >= 3, name
                for i in range(charts.count()):
                    chart = charts.nth(i)
                    expect(chart).to_have_attribute("data-has-data", "1")
                    bars = chart.locator("svg.chart rect.bar")
                    widths = [float(b.get_attribute("width").rstrip("%")) for b in bars.all()]
                    assert any(w > 0 for w in widths), (name, i)
                    box = chart.locator("svg.chart").bounding_box()
                    assert box["width"] <= width  # never wider than the screen
                if lang == "zh":
                    expect(page.locator("h1")).to_have_text("报表")
                page.screenshot(path=str(SCREENSHOTS / f"reports-{name}-{lang}-{width}.png"), full_page=True)
            page.goto("/console/finance/")
            expect(page.locator("#ledger")).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / f"finance-ledger-{lang}-{width}.png"), full_page=True)
            context.close()
    assert not errors, errors

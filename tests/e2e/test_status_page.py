"""The public status page and the console's compensation progress, in real Chromium.

Screenshots: screenshots/status-*.png (desktop and phone, English and Chinese).
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from refunddesk.status import services
from refunddesk.status.models import CompensationRun, Incident
from tests.e2e.conftest import shoot, sign_in
from tests.factories import CustomerFactory, OrderFactory, UsageFactory
from tests.tasks import run_tasks

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@pytest.fixture
def status_history(db):
    now = timezone.now()
    for position, (code, en, zh) in enumerate([
        ("cn-east", "China East", "华东"), ("cn-north", "China North", "华北"),
        ("cn-south", "China South", "华南"), ("eu-west", "Europe West", "欧洲西部"),
    ]):
        services.region_upsert(code=code, name_en=en, name_zh=zh, position=position)

    def add(regions, start, end, title_en, title_zh, severity="outage", updates=(), **kw):
        inc, _ = services.incident_open(title_en=title_en, title_zh=title_zh, regions=regions, severity=severity,
                                        started_at=start, ended_at=None, now=start, **kw)
        for at, kind, en, zh in updates:
            services.incident_update(incident_id=inc.pk, kind=kind, message_en=en, message_zh=zh, now=at)
        if end is not None:
            services.incident_close(incident_id=inc.pk, ended_at=end, message_en="Service is back to normal.",
                                    message_zh="服务已恢复正常。", now=end)
        return inc

    add(["cn-north"], now - 3 * H, None, "Slow connections in Beijing", "北京地区连接缓慢", severity="degraded",
        updates=[(now - 2 * H, "identified", "A congested peering link; traffic is being moved.",
                  "一条对等互联链路拥塞，正在迁移流量。")],
        message_en="Some customers see slow connections.", message_zh="部分用户连接缓慢。")
    big = add(["cn-east", "cn-south"], now - 6 * D - 73 * H, now - 6 * D, "Backbone fibre cut near Hangzhou",
              "杭州附近骨干光缆中断", cause="A construction crew cut two fibre trunks.", cause_zh="施工队挖断两条干线光缆。",
              updates=[(now - 6 * D - 70 * H, "identified", "Two trunk fibres were cut; repair crews are on site.",
                        "两条干线光缆被挖断，抢修人员已到场。"),
                       (now - 6 * D - 20 * H, "monitoring", "Traffic restored on a temporary route.",
                        "流量已切换至临时路由。")])
    add(["eu-west"], now - 20 * D - 9 * H, now - 20 * D, "Frankfurt data-centre power failure", "法兰克福机房断电",
        force_majeure=True, force_majeure_note="The regional grid failed during a storm.",
        force_majeure_note_zh="暴风雨导致区域电网故障。")
    add(["cn-south"], now - 41 * D - 2 * H, now - 41 * D, "Packet loss in Guangzhou", "广州丢包",
        severity="degraded")
    add(["cn-east"], now - 63 * D - 5 * H, now - 63 * D, "DNS resolution failures", "域名解析失败")
    return big


def days_touched(incident) -> int:
    """Calendar days (the site's time zone) an incident's outage touches: 73 hours span 4 or 5 of them,
    5 hours 1 or 2, depending on the hour the test runs."""
    first = timezone.localdate(incident.started_at)
    last = timezone.localdate(incident.ended_at - dt.timedelta(microseconds=1))
    return (last - first).days + 1


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), "the page scrolls sideways"


@pytest.mark.parametrize(("locale", "texts"), [
    ("en-US", ["Degraded service in some regions", "China East", "Backbone fibre cut near Hangzhou",
               "Daily availability over the last 90 days", "Past incidents", "Force majeure"]),
    ("zh-CN", ["华东", "杭州附近骨干光缆中断", "两条干线光缆被挖断", "北京地区连接缓慢"]),
])
def test_the_status_page_in_both_languages(new_page, status_history, locale, texts):
    lang = "en" if locale == "en-US" else "zh"
    page = new_page(locale=locale)
    page.goto("/status/")
    expect(page.locator("html")).to_have_attribute("lang", "en" if lang == "en" else "zh-hans")
    for text in texts:
        expect(page.locator(".st")).to_contain_text(text)
    expect(page.locator(".st-region")).to_have_count(4)
    expect(page.locator(".st-region").first.locator(".st-day")).to_have_count(90)
    down_days = page.locator(".st-region[data-region=cn-east] .st-day.st-major, "
                             ".st-region[data-region=cn-east] .st-day.st-partial").count()
    east = Incident.objects.filter(regions__code="cn-east")  # the fibre cut (73 h) and the DNS failures (5 h)
    assert down_days == sum(days_touched(incident) for incident in east)
    expect(page.locator(".st-region[data-region=cn-north] .st-state")).to_have_class("st-state st-degraded")
    if lang == "zh":
        expect(page.locator(".st-hero h1")).not_to_contain_text("regions")
    shoot(page, f"status-{lang}")

    phone = new_page(locale=locale, phone=True)
    phone.goto("/status/")
    expect(phone.locator(".st-region").first.locator(".st-day:visible")).to_have_count(30)
    no_horizontal_scroll(phone)
    shoot(phone, f"status-{lang}-phone")

    phone.locator(".st-incident h3 a").filter(has_text="杭州" if lang == "zh" else "Hangzhou").first.click()
    expect(phone.locator(".st-updates li")).to_have_count(3)
    cause = "施工队挖断两条干线光缆" if lang == "zh" else "A construction crew cut two fibre trunks"
    expect(phone.locator(".st-cause")).to_contain_text(cause)
    no_horizontal_scroll(phone)
    shoot(phone, f"status-{lang}-incident-phone")


def test_the_compensation_progress_bar_refreshes(new_page, status_history, supervisor):
    from refunddesk.policies.services import policy_publish
    from tests.status.conftest import VPN_POLICY

    policy_publish(document=VPN_POLICY.read_text(encoding="utf-8"),
                   cases=VPN_POLICY.with_name("subscription-vpn.cases.yaml").read_text(encoding="utf-8"),
                   effective_at=timezone.now() - 800 * D)
    for _ in range(4):
        UsageFactory(order=OrderFactory(customer=CustomerFactory(region="cn-east"),
                                        purchased_at=status_history.started_at - 3 * D))
    page = new_page()
    sign_in(page, supervisor.username)
    page.goto(f"/console/status/incidents/{status_history.pk}/")
    expect(page.locator("#compensation")).to_contain_text("73.0 hours")
    page.get_by_role("button", name="Compensate affected orders").click()
    expect(page.locator("#run [data-k=status_label]")).to_have_text("Queued")
    expect(page.locator("#compensate")).to_be_disabled()
    run_tasks()  # the worker runs it; the page polls and shows the result without a reload
    expect(page.locator("#run [data-k=status_label]")).to_have_text("Done")
    expect(page.locator("#run [data-k=percent]")).to_have_text("100")
    expect(page.locator("#run [data-k=approved]")).to_have_text("4")
    expect(page.locator("#run [data-k=applied]")).to_have_text("4")
    assert CompensationRun.objects.get().created == 4
    shoot(page, "status-console-compensation")

"""Issue 14.2 in Chromium: the merchant's product opens a portal session; the customer lands on the order with a
way back to the product, on a phone (390 px) and a desktop (1280 px), in both languages."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from refunddesk.core.services import api_key_create
from tests.e2e.conftest import shoot
from tests.portal.signin_helpers import merchant_feeds, post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("locale, width", [("en", 390), ("en", 1280), ("zh-hans", 390), ("zh-hans", 1280)])
def test_portal_session_lands_on_the_order_with_a_way_back(browser, live_server, settings, locale, width):
    settings.SITE_URL = live_server.url
    _, key = api_key_create(name="shop")
    api = Client(headers={"Authorization": f"Bearer {key}"})
    merchant_feeds(api, language="en")
    back = f"{live_server.url}/status/"  # the merchant's own page (any page of this server stands in for it)
    r = post(api, "/api/v1/portal-sessions", {"customer_id": "cus_api_1", "order_id": "ORD-API-1",
                                              "return_url": back, "locale": locale})
    assert r.status_code == 201, r.content
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  locale="en-US" if locale == "en" else "zh-CN")
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(r.json()["url"])
        expect(page).to_have_url(f"{live_server.url}/portal/orders/ORD-API-1/apply/")
        expect(page.locator("#content")).to_contain_text("ORD-API-1")
        link = page.locator("#return-link")
        expect(link).to_be_visible()
        host = live_server.url.split("://")[1].split(":")[0]
        expect(link).to_contain_text(("Back to " if locale == "en" else "返回 ") + host)
        assert link.bounding_box()["x"] + link.bounding_box()["width"] <= width  # fits the screen
        shoot(page, f"portal-session-{locale}-{width}")
        link.click()
        expect(page).to_have_url(back)
        page.goto(r.json()["url"])  # the same URL again: used
        expect(page.locator("#session-invalid")).to_contain_text(
            "already been used" if locale == "en" else "已经使用过")
        shoot(page, f"portal-session-used-{locale}-{width}")
    finally:
        context.close()

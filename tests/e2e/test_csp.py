"""The Content-Security-Policy (django-csp) in real Chromium: every main page is served under it, the browser
reports no violation on any of them (no inline script or style, nothing from another site), and the
pages' own scripts still work under it (issue 15.6)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from refunddesk.core import roles
from refunddesk.refunds import services as s
from refunddesk.status import services as status_services
from tests.e2e.conftest import make_png, sign_in
from tests.factories import OrderFactory, UsageFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collects what the browser refuses under the policy, before any script of the page runs.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " in " + e.documentURI
                    + (e.sample ? " (" + e.sample + ")" : ""));
});
"""


class Watcher:
    """Opens pages in one browser context and keeps every CSP violation and console error they cause."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        page.add_init_script(WATCH)
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}")
                if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text else None)

    def visit(self, path: str, status: int = 200) -> None:
        response = self.page.goto(path)
        assert response is not None and response.status == status, (path, response and response.status)
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, (path, policy)
        self.page.wait_for_load_state("load")
        self.check(path)

    def check(self, where: str) -> None:
        violations = self.page.evaluate("window.__csp || []")
        assert violations == [], (where, violations)
        assert self.console == [], (where, self.console)


def _everyone(username: str):
    user = UserFactory(username=username, is_staff=True, is_superuser=True, first_name="Boss")
    user.groups.set(Group.objects.filter(name__in=roles.ALL_ROLES))
    return user


def test_the_main_pages_work_under_the_content_security_policy(new_page, published_policy, customer, order):
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue",
                                  description="It keeps dropping", files=[s.Upload("error.png", make_png())])
    other = OrderFactory(customer=customer, external_id="ORD-200")
    UsageFactory(order=other)
    status_services.region_upsert(code="cn-east", name_en="China East", name_zh="华东", position=0)
    incident, _ = status_services.incident_open(title_en="Slow", title_zh="缓慢", regions=["cn-east"],
                                                severity="degraded", started_at=None, ended_at=None,
                                                message_en="Slow.", message_zh="缓慢。")

    anonymous = Watcher(new_page())
    for path in ["/", "/accounts/login/", "/accounts/link/", "/status/", "/policy/", "/api/docs"]:
        anonymous.visit(path)
    anonymous.visit("/no-such-page/", status=404)
    anonymous.page.goto("/api/docs")
    expect(anonymous.page.locator(".swagger-ui .info")).to_contain_text("refunddesk API")  # Swagger UI's script ran
    anonymous.check("/api/docs after rendering")

    me = Watcher(new_page())
    sign_in(me.page, "cust_a@example.test")
    me.check("sign-in")
    for path in ["/portal/", "/portal/requests/", f"/portal/requests/{req.public_id}/"]:
        me.visit(path)
    expect(me.page.get_by_role("link", name="error.png")).to_be_visible()
    me.visit(f"/portal/orders/{other.external_id}/apply/")
    # app.js runs under the policy: the reason chosen highlights what the policy says about it
    me.page.get_by_label("Why do you want a refund?").select_option("changed_mind")
    expect(me.page.locator("[data-preview] .chosen").first).to_be_visible()
    me.page.select_option("#lang-select", "zh-hans")  # the language switcher submits itself (app.js)
    expect(me.page.locator("html")).to_have_attribute("lang", re.compile("zh", re.I))
    me.check("apply, after choosing a reason and a language")

    boss = _everyone("boss")
    staff = Watcher(new_page())
    sign_in(staff.page, boss.username)
    for path in ["/console/queue/", f"/console/requests/{req.public_id}/", "/console/appeals/",
                 "/console/finance/", "/console/policy/", "/console/calendar/", "/console/status/",
                 "/console/status/incidents/new/", f"/console/status/incidents/{incident.pk}/",
                 "/admin/", "/admin/refunds/refundrequest/", f"/admin/core/user/{boss.pk}/change/"]:
        staff.visit(path)
    staff.page.goto(f"/console/requests/{req.public_id}/")
    expect(staff.page.locator("#evidence img")).to_be_visible()  # evidence shown from this site (img-src 'self')
    assert staff.page.evaluate("document.querySelector('#evidence img').naturalWidth") == 480
    staff.page.locator("form[action$='/ask_info/']").scroll_into_view_if_needed()  # the forms are shown, not folded
    staff.check("case page, form opened")

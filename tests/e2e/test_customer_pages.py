"""The pages a customer sees, in real Chromium (issue 17): the public policy without placeholders, CEL or clause
ids; applying again after a "contact support first" rejection; no public or portal page wider than a 390 px
phone, in either language; nothing left in English on a Chinese page; the evidence limits checked before
anything is sent. Every page is saved in screenshots/ at 1280 and 390 px in both languages, for people to look
at (customer-<page>-<language>-<width>.png)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from refunddesk.policies.engine import load_policy
from refunddesk.policies.services import policy_publish
from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from refunddesk.status import services as status_services
from tests.e2e.conftest import ARGS, CHROMIUM, LOCALES, SCREENSHOTS, WIDTHS, make_png  # noqa: F401
from tests.factories import CustomerFactory, OrderFactory, SupportContactFactory, UsageFactory, UserFactory
from tests.tasks import run_tasks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
CEL = re.compile(r"&&|\|\||==|!=|>=|<=|\b(?:order|plan|request|customer|usage|support|outage|charge)\.[a-z_]+"
                 r"|\b(?:hours|days|prorate|prorate_unused|percent)\(")
# three English words in a row on a Chinese page: a string nobody translated
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]+(?:(?:[ ,:;!?-]+|\.\s+)[A-Za-z][A-Za-z'’]+){2,}")  # a.b.c: an address
# ... except the names of things, which are not translated: the product, the stores, the merchant's data
NAMES = ("refunddesk", "App Store", "Google Play", "Customer Portal Test", "Subscription VPN refund policy",
         "Workflow test policy", "China Standard Time")
# what the customer and the staff wrote (in English here), quoted as they wrote it
WRITTEN = ("The connection drops every few minutes since Monday.", "Which server do you use?",
           "Half of the unused month.", "I was charged for nothing.", "Please look again.",
           "The policy does not refund a change of mind.", "We are looking into it.", "Slow connections")


def sign_in_as(page, login: str, language: str) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(login)
    page.locator("#id_password").fill("pw-for-tests")
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    page.wait_for_load_state()
    if page.locator("#lang-select").input_value() != language:  # signed in, the customer's own language: switch
        with page.expect_navigation():
            page.select_option("#lang-select", language)


def look(page, path: str, name: str, language: str, width: int, status: int = 200) -> str:
    """Open `path`, check it fits the width (no sideways scrolling) and, in Chinese, that no English was left
    untranslated; save its screenshot. Returns its visible text."""
    response = page.goto(path)
    assert response is not None and response.status == status, (path, response and response.status)
    page.wait_for_load_state("load")
    wide, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert wide <= client, f"{path} in {language} scrolls sideways at {width} px: {wide} px wide"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"customer-{name}-{language}-{width}.png"), full_page=True)
    text = page.evaluate("document.body.innerText")
    if language == "zh-hans":
        left = text
        for name_ in NAMES + WRITTEN:
            left = left.replace(name_, "")
        assert not ENGLISH_RUN.findall(left), (path, ENGLISH_RUN.findall(left))
    return text


def publish_vpn(**kw):
    document = (ROOT / "policies" / "subscription-vpn.yaml").read_text(encoding="utf-8")
    cases = (ROOT / "policies" / "subscription-vpn.cases.yaml").read_text(encoding="utf-8")
    return policy_publish(document=document, cases=cases, **kw)


# --- the public policy ------------------------------------------------------------------------------


def test_the_public_policy_page_has_no_placeholder_no_cel_and_no_clause_id(at, db):
    publish_vpn(effective_at=timezone.now() - dt.timedelta(days=30))
    ids = [rule.id for rule in load_policy(ROOT / "policies" / "subscription-vpn.yaml").clauses]
    for language in LOCALES:
        for width in WIDTHS:
            page = at(language, width)
            text = look(page, "/policy/", "policy", language, width)
            assert "{" not in text and "}" not in text
            assert not CEL.search(text), CEL.search(text)
            assert [i for i in ids if i in page.content()] == []
            page.locator("nav.toc a").nth(4).click()  # the contents lead to the sections
            expect(page).to_have_url(re.compile(r"#timing$"))


# --- applying again ---------------------------------------------------------------------------------


def test_a_customer_applies_again_after_a_contact_support_first_rejection(at, db):
    publish_vpn(effective_at=timezone.now() - dt.timedelta(days=30))
    user = UserFactory(username="kim", email="kim@example.test")
    customer = CustomerFactory(user=user, email="kim@example.test", name="Kim", language="en")
    order = OrderFactory(customer=customer, external_id="ORD-KIM", purchased_at=timezone.now() - dt.timedelta(days=2))
    UsageFactory(order=order)
    me = at("en", 1280)
    sign_in_as(me, "kim@example.test", "en")
    me.goto("/portal/orders/ORD-KIM/apply/")
    me.get_by_label("Why do you want a refund?").select_option("technical_issue")
    me.get_by_label("What happened?").fill("It disconnects every few minutes.")
    me.get_by_role("button", name="Send my request").click()
    expect(me.locator("#status-badge")).to_have_text("Rejected")
    expect(me.locator("#status")).to_contain_text("Please contact support first")
    expect(me.locator("#next-steps")).to_contain_text("as soon as you have done what it asks")
    SCREENSHOTS.mkdir(exist_ok=True)
    me.screenshot(path=str(SCREENSHOTS / "customer-reapply-rejected-en-1280.png"), full_page=True)
    first = RefundRequest.objects.get(order=order)

    SupportContactFactory(customer=customer, order=order, resolved=False)  # support tried, and could not solve it
    me.locator("#apply-again").click()
    expect(me.locator("#earlier")).to_contain_text(first.public_id)
    me.get_by_label("Why do you want a refund?").select_option("technical_issue")
    me.get_by_label("What happened?").fill("Support could not fix it either.")
    me.get_by_role("button", name="Send my request").click()
    expect(me.locator("#status")).to_contain_text("is being refunded")
    me.screenshot(path=str(SCREENSHOTS / "customer-reapply-approved-en-1280.png"), full_page=True)
    first.refresh_from_db()
    assert first.status == Status.SUPERSEDED
    assert RefundRequest.objects.filter(order=order).exclude(pk=first.pk).get().policy_clause \
        == "technical-problem-unsolved"


# --- every page at both widths, in both languages -----------------------------------------------------


def _requests_in_every_state(customer, agent, supervisor) -> dict[str, str]:
    """One request of the customer in each state a customer meets: name -> its public id."""
    def order(**kw):
        o = OrderFactory(customer=customer, **kw)
        UsageFactory(order=o)
        return o.external_id

    def submit(reason, **kw):
        return s.refund_request_submit(customer=customer, order_number=order(**kw), reason=reason,
                                       description="The connection drops every few minutes since Monday.",
                                       files=[s.Upload("screenshot.png", make_png())])

    out = {"in-review": submit("other").public_id}
    waiting = submit("not_satisfied")
    s.refund_request_ask_info(public_id=waiting.public_id, user=agent, message="Which server do you use?")
    out["waiting"] = waiting.public_id
    offered = submit("other")
    s.refund_request_offer(public_id=offered.public_id, user=agent, amount="12.50", clause="default",
                           note="Half of the unused month.")
    out["offered"] = offered.public_id
    out["refunded"] = submit("duplicate_charge").public_id
    out["rejected"] = submit("changed_mind").public_id
    appealed = submit("changed_mind")
    s.refund_request_appeal(customer=customer, public_id=appealed.public_id, reason="I was charged for nothing.")
    out["appealed"] = appealed.public_id
    final = submit("changed_mind")
    s.refund_request_appeal(customer=customer, public_id=final.public_id, reason="Please look again.")
    s.refund_request_decide_appeal(public_id=final.public_id, user=supervisor, uphold=False,
                                   reason="The policy does not refund a change of mind.", clause="changed-mind")
    out["rejected-final"] = final.public_id
    out["redirected"] = submit("other", sales_channel="app_store", gateway="app_store").public_id
    withdrawn = submit("other")
    s.refund_request_withdraw(customer=customer, public_id=withdrawn.public_id)
    out["withdrawn"] = withdrawn.public_id
    superseded = submit("changed_mind")  # its appeal window passed, the customer applied again
    s.refund_request_submit(customer=customer, order_number=superseded.order.external_id, reason="other",
                            now=superseded.appeal_due_at + dt.timedelta(seconds=1))
    out["superseded"] = superseded.public_id
    run_tasks()  # the approved one is paid
    return out


def test_no_public_or_portal_page_scrolls_sideways_on_a_phone_and_none_is_left_in_english(
        at, published_policy, agent, supervisor):
    """The issue measured the case page at 433 px in 390 and a 150-230 px top bar; every page a customer sees
    passes at 390 px, in both languages, and is saved at 1280 and 390 px."""
    publish_vpn(effective_at=timezone.now() - dt.timedelta(hours=1))  # /policy/ shows the shipped policy
    user = UserFactory(username="portal", email="portal@example.test")
    customer = CustomerFactory(user=user, email="portal@example.test", name="Customer Portal Test", language="en")
    requests = _requests_in_every_state(customer, agent, supervisor)
    fresh = OrderFactory(customer=customer, external_id="ORD-FRESH")
    UsageFactory(order=fresh)
    status_services.region_upsert(code="cn-east", name_en="China East", name_zh="华东", position=0)
    status_services.incident_open(title_en="Slow connections", title_zh="连接缓慢", regions=["cn-east"],
                                  severity="degraded", started_at=None, ended_at=None,
                                  message_en="We are looking into it.", message_zh="我们正在调查。")
    public = [("/", "home"), ("/policy/", "policy"), ("/status/", "status"), ("/accounts/login/", "sign-in"),
              ("/accounts/link/", "sign-in-link"), ("/no-such-page/", "not-found")]
    portal = [("/portal/", "orders"), ("/portal/requests/", "requests"),
              (f"/portal/orders/{fresh.external_id}/apply/", "apply")]
    portal += [(f"/portal/requests/{pid}/", f"request-{name}") for name, pid in requests.items()]
    for language in LOCALES:
        for width in WIDTHS:
            anonymous = at(language, width)
            for path, name in public:
                look(anonymous, path, name, language, width, status=404 if name == "not-found" else 200)
            me = at(language, width)
            sign_in_as(me, "portal@example.test", language)
            for path, name in portal:
                look(me, path, name, language, width)


def test_the_top_bar_on_a_phone_is_two_short_rows(at, published_policy, customer, order):
    """Issue 17: at 390 px the top bar stacked into a 150-230 px block on every page (in Chinese, one character
    a line). Now: a row of brand, name and language, then the navigation on one line that scrolls by itself."""
    for language in LOCALES:
        me = at(language, 390)
        sign_in_as(me, "cust_a@example.test", language)
        for path in ("/portal/", "/policy/"):
            me.goto(path)
            height, nav_rows = me.evaluate("""() => {
                const bar = document.querySelector('.topbar').getBoundingClientRect().height;
                const tops = new Set([...document.querySelectorAll('.nav a')].map(a => a.getBoundingClientRect().top));
                return [bar, tops.size]; }""")
            assert height < 110 and nav_rows == 1, (language, path, height, nav_rows)


# --- evidence checked before sending --------------------------------------------------------------------


def test_the_browser_refuses_files_over_the_limits_before_sending_them(at, published_policy, customer, order):
    MB = 1024 * 1024
    me = at("en", 1280)
    sign_in_as(me, "cust_a@example.test", "en")
    me.goto(f"/portal/orders/{order.external_id}/apply/")
    me.get_by_label("Why do you want a refund?").select_option("technical_issue")
    evidence = me.get_by_label("Evidence")
    evidence.set_input_files([{"name": "recording.mp4", "mimeType": "video/mp4", "buffer": b"\0" * (30 * MB)}])
    expect(me.locator("[data-evidence-check]")).to_have_text(
        "recording.mp4 is 30 MB; the limit is 10 MB per file. Send a smaller file.")
    me.get_by_role("button", name="Send my request").click()
    expect(me).to_have_url(re.compile(r"/apply/$"))  # nothing was sent
    assert not RefundRequest.objects.exists()
    evidence.set_input_files([{"name": f"shot{i}.png", "mimeType": "image/png", "buffer": make_png(40, 30)}
                              for i in range(6)])
    expect(me.locator("[data-evidence-check]")).to_contain_text("Send at most 5 files per message; these are 6.")
    SCREENSHOTS.mkdir(exist_ok=True)
    me.screenshot(path=str(SCREENSHOTS / "customer-apply-files-refused-en-1280.png"), full_page=True)
    evidence.set_input_files([{"name": "shot.png", "mimeType": "image/png", "buffer": make_png()}])
    expect(me.locator("[data-evidence-check]")).to_have_text("")
    me.get_by_role("button", name="Send my request").click()
    expect(me.locator("#status-badge")).to_be_visible()
    assert RefundRequest.objects.get().evidence.count() == 1

"""Pages a customer trusts (issue 17, "The public refund policy reads like a policy" and "Customers"), through
the Django test client and the public services: the policy as a document, rules cited in words, applying again
after a rejection, one date format and time zone, the customer's own language, the Apply button, upload sizes.
Browser checks (390 px, the file check before sending, screenshots) are in tests/e2e/test_customer_pages.py."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from refunddesk.core.errors import Conflict
from refunddesk.core.services import access_token_create
from refunddesk.policies.engine import load_policy
from refunddesk.policies.services import policy_publish
from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from tests.factories import CustomerFactory, OrderFactory, PlanFactory, SupportContactFactory, UserFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
MB = 1024 * 1024
# what CEL looks like, as opposed to words: operators, fact names, the duration and amount functions
CEL = re.compile(r"&&|\|\||==|!=|>=|<=|\b(?:order|plan|request|customer|usage|support|outage|charge)\.[a-z_]+"
                 r"|\b(?:hours|days|prorate|prorate_unused|percent)\(")


def visible_text(page: str) -> str:
    """What a reader sees of an HTML page: no tags, scripts, styles or attributes."""
    body = page.split("<body", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", body))


def publish(name: str, **kw):
    document = (POLICIES / f"{name}.yaml").read_text(encoding="utf-8")
    cases = (POLICIES / f"{name}.cases.yaml").read_text(encoding="utf-8")
    return policy_publish(document=document, cases=cases,
                          effective_at=kw.pop("effective_at", timezone.now() - dt.timedelta(days=400)), **kw)


@pytest.fixture
def vpn(db):
    """The shipped VPN policy, published (with a publisher's note in English only), and two plans."""
    PlanFactory(name="Monthly", trial_hours=24, refund_window_days=7, period_days=30)
    PlanFactory(name="Yearly", trial_hours=0, refund_window_days=30, period_days=365)
    return publish("subscription-vpn", change_note="Internal: sections added for the public page")


def client_in(language: str, user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_login(user)
        client.cookies["django_language"] = language  # chosen with the switcher
    return client


# --- the public policy reads like a policy -------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_public_policy_has_no_placeholder_no_cel_and_no_clause_id(vpn, language):
    """Issue 17: /policy/ showed `{order.refunded}`, `{refund}`, `at most hours(‹…›)` and every clause id."""
    page = client_in(language).get("/policy/").content.decode()
    text = visible_text(page)
    assert "{" not in text and "}" not in text
    assert not CEL.search(text), CEL.search(text)
    policy = load_policy(POLICIES / "subscription-vpn.yaml")
    ids = [rule.id for rule in policy.clauses] + ["subscription-vpn"]
    assert [i for i in ids if i in page] == []  # not even in an attribute


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ["Who can get their money back", "What is not refunded", "How to apply", "How long each step takes",
            "How much comes back", "If you disagree with a decision", "How changes are announced",
            "How to reach us", "24 hours on Monthly; no trial on Yearly",
            "7 days after purchase on Monthly; 30 days after purchase on Yearly", "Alipay", "1–5 business days",
            "Card", "3–10 business days", "within 10 business days of the decision",
            "ask a third party, such as a consumer association, to mediate", "Version 5",
            "What comes back: what you paid − what was already refunded − the fee the payment channel kept.",
            "we remind you after 3 business days; after 7 without an answer, the request is closed",
            "If you keep using the service heavily after applying"]),
    ("zh-hans", ["哪些情况可以退款", "哪些情况不予退款", "如何申请", "各环节所需时间", "退款金额", "对处理结果有异议",
                 "政策变更如何通知", "联系我们", "Monthly：24 小时；Yearly：无体验期",
                 "Monthly：购买后 7 天内；Yearly：购买后 30 天内", "支付宝", "银行卡", "在决定作出后 10 个工作日内",
                 "消费者协会", "第 5 版", "退款金额：支付金额 − 已退款金额 − 支付通道收取的手续费。",
                 "7个工作日内仍未回复的，申请将被关闭",
                 "提交申请后，如在审核期间继续大量使用服务"]),
])
def test_the_public_policy_is_a_document_in_the_pages_language(vpn, language, expected):
    text = " ".join(visible_text(client_in(language).get("/policy/").content.decode()).split())
    missing = [e for e in expected if e not in text]
    assert not missing
    day = timezone.localtime(vpn.effective_at)
    assert (f"{day:%B} {day.day}, {day.year}" if language == "en" else f"{day.year}年{day.month}月{day.day}日") in text
    assert "Internal: sections added" not in text  # the publisher's note is English, for staff


def test_a_version_without_sections_or_changes_is_grouped_by_outcome_and_says_what_changed_in_words(
        published_policy, db):
    """Documents published before `sections` (the test policy has no summaries either): grouped by outcome,
    each rule said by its explanation with the placeholders in words; what changed, from the diff."""
    doc = (ROOT / "tests" / "refunds" / "policy.yaml").read_text(encoding="utf-8")
    cases = (ROOT / "tests" / "refunds" / "policy.cases.yaml").read_text(encoding="utf-8")
    policy_publish(document=doc.replace("version: 1", "version: 2").replace(
        "Changing your mind is not a reason for a refund.", "A change of mind is not refunded."),
        cases=cases, effective_at=timezone.now() - dt.timedelta(days=1), change_note="wording")
    for language, words in (("en", ["Charged twice: we refund it in full, the refund (how the refund is computed).",
                                    "Changed: A change of mind is not refunded."]),
                            ("zh-hans", ["重复扣款：全额退还 退款金额（退款的计算方式）。", "修改：个人偏好改变不属于退款范围。"])):
        text = " ".join(visible_text(client_in(language).get("/policy/").content.decode()).split())
        assert all(w in text for w in words), [w for w in words if w not in text]
        assert "{" not in text and "wording" not in text


def test_the_clause_by_clause_view_is_for_staff(vpn, agent, customer):
    url = f"/policy/versions/{vpn.pk}/clauses/"
    anonymous = client_in("en").get(url)  # staff not signed in yet: the sign-in page, then back here
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/?next=/policy/versions/")
    assert client_in("en", customer.user).get(url).status_code == 403
    page = client_in("en", agent).get(url).content.decode()
    assert "technical-problem-support-first" in page and "request.reason == &#x27;technical_issue&#x27;" in page
    assert f'href="{url}"' in client_in("en", agent).get("/policy/").content.decode()
    assert url not in client_in("en").get("/policy/").content.decode()


# --- applying again after a rejection ----------------------------------------------------------------


def test_after_a_contact_support_first_rejection_the_customer_applies_again_at_once(vpn, customer):
    """Issue 17: the rejection said "contact support, then apply again", and the rejected request blocked the
    order ("this order already has a request in progress") until the customer found Withdraw."""
    order = OrderFactory(customer=customer, purchased_at=timezone.now() - dt.timedelta(days=2))
    first = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    assert (first.status, first.policy_clause) == (Status.REJECTED, "technical-problem-support-first")
    SupportContactFactory(customer=customer, order=order, resolved=False)  # support tried and could not solve it
    second = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    assert (second.status, second.policy_clause) == (Status.REFUNDING, "technical-problem-unsolved")
    first.refresh_from_db()
    assert first.status == Status.SUPERSEDED
    assert first.timeline.filter(action="reapply").exists()
    assert second.timeline.get(action="submit").data["replaces"] == first.public_id
    page = client_in("en", customer.user).get(f"/portal/requests/{first.public_id}/").content.decode()
    assert f"/portal/requests/{second.public_id}/" in page and "You applied again; this request is closed" in page


def test_the_request_page_offers_to_apply_again_when_the_rule_allows_it(vpn, customer):
    order = OrderFactory(customer=customer, purchased_at=timezone.now() - dt.timedelta(days=2))
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    client = client_in("en", customer.user)
    page = client.get(f"/portal/requests/{req.public_id}/").content.decode()
    assert 'id="apply-again"' in page and f"/portal/orders/{order.external_id}/apply/" in page
    assert "as soon as you have done what it asks" in page
    orders = client.get("/portal/").content.decode()
    assert f"Your earlier request {req.public_id} was not approved" in orders and ">Apply again<" in orders
    apply = client.get(f"/portal/orders/{order.external_id}/apply/").content.decode()
    assert 'id="earlier"' in apply and "Follow your request" not in apply


def test_another_rejection_holds_the_order_while_it_may_be_appealed(published_policy, customer, order, settings):
    rejected = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="changed_mind")
    assert rejected.status == Status.REJECTED and rejected.appeal_due_at is not None
    assert rejected.appeal_due_at > timezone.now() + dt.timedelta(days=settings.REFUNDDESK_APPEAL_BUSINESS_DAYS)
    with pytest.raises(Conflict) as refused:
        s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
    assert "You can appeal that decision until" in str(refused.value.message)
    page = client_in("en", customer.user).get(f"/portal/requests/{rejected.public_id}/").content.decode()
    assert "You can appeal until" in page and 'id="apply-again"' not in page and 'id="appeal-form"' in page
    later = rejected.appeal_due_at + dt.timedelta(seconds=1)
    with pytest.raises(Conflict, match="The time to appeal this decision ended on"):
        s.refund_request_appeal(customer=customer, public_id=rejected.public_id, reason="please", now=later)
    again = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue",
                                    now=later)
    assert again.status == Status.IN_REVIEW
    assert RefundRequest.objects.get(pk=rejected.pk).status == Status.SUPERSEDED


def test_the_api_lets_the_customer_apply_again_too_and_says_why_not_in_their_language(vpn, customer):
    order = OrderFactory(customer=customer, purchased_at=timezone.now() - dt.timedelta(days=2))
    _, raw = access_token_create(user=customer.user)
    api = Client(headers={"Authorization": f"Bearer {raw}"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    data = {"order_number": order.external_id, "reason": "technical_issue"}
    assert api.post("/api/v1/requests", data).json()["status"] == "rejected"
    SupportContactFactory(customer=customer, order=order, resolved=False)
    second = api.post("/api/v1/requests", data)
    assert second.status_code == 201 and second.json()["status"] in ("approved", "refunding")
    other = OrderFactory(customer=customer, purchased_at=timezone.now() - dt.timedelta(days=20))
    assert api.post("/api/v1/requests", {**data, "order_number": other.external_id}).json()["status"] == "rejected"
    refused = api.post("/api/v1/requests", {**data, "order_number": other.external_id})
    assert refused.status_code == 409 and refused.json()["error"]["field"] == "order_number"
    assert "前对该决定提出申诉；之后即可再次申请" in refused.json()["error"]["message"]


# --- what the pages say --------------------------------------------------------------------------------


def test_a_settled_request_no_longer_says_a_person_will_look_at_it(published_policy, customer, order, agent):
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="other")
    client = client_in("en", customer.user)
    assert "A person will look at it." in client.get(f"/portal/requests/{req.public_id}/").content.decode()
    s.refund_request_approve(public_id=req.public_id, user=agent, reason="Sorry for the trouble", clause="default")
    page = client.get(f"/portal/requests/{req.public_id}/").content.decode()
    assert "A person will look at it." not in page
    assert "the refund policy sent your request to a person to decide" in page


def test_one_format_and_one_time_zone_per_page(published_policy, customer, order):
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="changed_mind")
    for language in ("en", "zh-hans"):
        text = visible_text(client_in(language, customer.user).get(f"/portal/requests/{req.public_id}/")
                            .content.decode())
        assert not re.search(r"\d:\d\d:\d\d", text)  # no seconds
        assert "UTC" not in text and not re.search(r"\d{4}-\d\d-\d\d", text)  # no second date format
        assert ("China Standard Time" if language == "en" else "中国标准时间") in text


def test_a_signed_in_customer_reads_their_own_language_not_the_browsers(published_policy, order):
    user = UserFactory(username="li", email="li@example.test")
    customer = CustomerFactory(user=user, email="li@example.test", language="zh-hans")
    OrderFactory(customer=customer, external_id="ORD-LI")
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    signed_in = browser.post("/accounts/login/", {"login": "li@example.test", "password": "pw-for-tests"})
    assert signed_in.cookies["django_language"].value == "zh-hans"
    assert "我的订单" in browser.get("/portal/").content.decode()
    fresh = Client(HTTP_ACCEPT_LANGUAGE="en")  # a session without the cookie
    fresh.force_login(user)
    assert "我的订单" in fresh.get("/portal/").content.decode()
    browser.post("/i18n/setlang/", {"language": "en", "next": "/portal/"})  # the switcher still wins
    assert "My orders" in browser.get("/portal/").content.decode()


def test_the_apply_button_follows_the_preview(published_policy, customer):
    store = OrderFactory(customer=customer, sales_channel="app_store", gateway="app_store")
    blocked_customer = CustomerFactory(user=UserFactory(username="flagged"), tos_violation=True, language="en")
    blocked = OrderFactory(customer=blocked_customer)
    page = client_in("en", customer.user).get("/portal/").content.decode()
    assert f"/portal/orders/{store.external_id}/apply/" not in page  # only the store refunds it
    assert "There is nothing to apply for here." in page
    page = client_in("en", blocked_customer.user).get("/portal/").content.decode()
    assert ">Apply anyway<" in page and ">Apply for a refund<" not in page
    assert f"/portal/orders/{blocked.external_id}/apply/" in page  # still offered, with why
    assert "Whatever the reason, the policy would not refund this order." in page


def test_a_thirty_mb_file_is_reported_as_thirty_mb(published_policy, customer, order, settings, tmp_path):
    """Issue 17: a 30 MB file was reported as "10.5 MB"."""
    settings.MEDIA_ROOT = tmp_path
    big = b"x" * (30 * MB)
    client = client_in("en", customer.user)
    page = client.post(f"/portal/orders/{order.external_id}/apply/", {
        "reason": "technical_issue", "evidence": [SimpleUploadedFile("video.txt", big)]}).content.decode()
    assert "video.txt is 30 MB; the limit is 10 MB per file." in page
    _, raw = access_token_create(user=customer.user)
    api = Client(headers={"Authorization": f"Bearer {raw}"}, HTTP_ACCEPT_LANGUAGE="en")
    answer = api.post("/api/v1/requests", {"order_number": order.external_id, "reason": "technical_issue",
                                           "files": [SimpleUploadedFile("video.txt", big)]})
    assert answer.status_code == 422 and "is 30 MB" in answer.json()["error"]["message"]
    assert not RefundRequest.objects.exists()
    form = client.get(f"/portal/orders/{order.external_id}/apply/").content.decode()
    assert f'data-max-bytes="{10 * MB}"' in form and 'data-too-large="{name} is {size} MB; the limit is 10 MB' in form


def test_a_rejection_email_cites_the_rule_in_words_and_says_until_when_to_appeal(published_policy, customer, order):
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="changed_mind")
    run_tasks()
    body = mail.outbox[-1].body
    assert "Our refund policy says: Changing your mind is not a reason for a refund." in body
    assert f"/policy/versions/{published_policy.pk}/#rule-3" in body and "changed-mind" not in body
    assert "you can appeal until" in body and req.public_id in body


def test_the_apis_sign_in_answers_a_customer_in_their_language(customer):
    """Same kind as the pages (issue 17: "API and validation messages included"): POST auth/token answered
    "wrong email or password." in English whatever the language asked for."""
    api = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    wrong = api.post("/api/v1/auth/token", {"email": "cust_a@example.test", "password": "nope"},
                     content_type="application/json")
    assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "电子邮箱与密码不匹配。请检查后重试，或申请登录链接。"
    empty = api.post("/api/v1/auth/token", {"email": "", "password": "x"}, content_type="application/json")
    assert empty.status_code == 422 and empty.json()["error"]["message"] == "请填写账户的电子邮箱（或用户名）。"

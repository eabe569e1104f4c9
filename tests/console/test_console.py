"""The staff console: roles, the queue and its filters, the case page and its actions, appeals, finance,
the policy editor, and a fixed number of queries for the queue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.policies.models import PolicyDraft, PolicyVersion
from refunddesk.refunds import services as s
from refunddesk.refunds.models import RefundRequest
from refunddesk.refunds.states import Status
from tests.conftest import TEST_POLICY
from tests.console.conftest import client_for
from tests.factories import CustomerFactory, OrderFactory, UsageFactory
from tests.refunds.test_workflow import PNG
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


def submit(customer, order, reason="technical_issue", **kw):
    return s.refund_request_submit(customer=customer, order_number=order.external_id, reason=reason, **kw)


@pytest.fixture
def in_review(published_policy, customer, order):
    return submit(customer, order, description="VPN drops", files=[s.Upload("shot.png", PNG)])


def html_of(response) -> str:
    return response.content.decode()


# --- who sees what --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/console/queue/", "/console/appeals/", "/console/finance/", "/console/policy/"])
def test_signed_out_visitors_go_to_sign_in(url, db):
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_roles(customer, agent, supervisor, finance, policy_owner):
    expected = {
        customer.user: {"/console/queue/": 403, "/console/appeals/": 403, "/console/finance/": 403,
                        "/console/policy/": 403},
        agent: {"/console/queue/": 200, "/console/appeals/": 403, "/console/finance/": 403, "/console/policy/": 403},
        supervisor: {"/console/queue/": 200, "/console/appeals/": 200, "/console/finance/": 403},
        finance: {"/console/queue/": 403, "/console/finance/": 200, "/console/policy/": 403},
        policy_owner: {"/console/queue/": 403, "/console/policy/": 200},
    }
    for user, urls in expected.items():
        client = client_for(user)
        for url, status in urls.items():
            response = client.get(url)
            assert response.status_code == status, (user, url)
            if status == 403:
                assert "You cannot open this page" in html_of(response)


def test_console_home_sends_each_role_to_its_work(agent, finance, policy_owner):
    assert client_for(agent).get("/console/")["Location"] == "/console/queue/"
    assert client_for(finance).get("/console/")["Location"] == "/console/finance/"
    assert client_for(policy_owner).get("/console/")["Location"] == "/console/policy/"


# --- the queue -------------------------------------------------------------------------------------


def test_queue_ordered_by_deadline_with_filters(published_policy, customer, agent):
    old_order = OrderFactory(customer=customer, purchased_at=timezone.now() - dt.timedelta(days=25))
    old = submit(customer, old_order, now=timezone.now() - dt.timedelta(days=20))
    new = submit(customer, OrderFactory(customer=customer, gateway="manual"), reason="not_satisfied")
    s.refund_request_assign(public_id=new.public_id, user=agent)
    client = client_for(agent)
    html = html_of(client.get("/console/queue/"))
    assert html.index(old.public_id) < html.index(new.public_id)  # soonest deadline first
    assert "overdue" in html

    def ids(query):
        page = html_of(client.get("/console/queue/?" + query))
        return {r for r in (old.public_id, new.public_id) if r in page}

    assert ids("overdue=yes") == {old.public_id}
    assert ids("overdue=no") == {new.public_id}
    assert ids("reason=not_satisfied") == {new.public_id}
    assert ids("assignee=me") == {new.public_id}
    assert ids("assignee=none") == {old.public_id}
    assert ids("gateway=manual") == {new.public_id}
    assert ids("status=waiting_for_customer") == set()


def _queue_rows(customer, n):
    for _ in range(n):
        order = OrderFactory(customer=customer)
        RefundRequest.objects.create(customer=customer, order=order, reason="other", currency="CNY",
                                     status=Status.IN_REVIEW, review_due_at=timezone.now() + dt.timedelta(days=2))


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), html_of(response)


def test_queue_query_count_does_not_grow(customer, agent, agent2):
    client = client_for(agent)
    _queue_rows(customer, 5)
    RefundRequest.objects.filter(pk=RefundRequest.objects.first().pk).update(assignee=agent2)
    client.get("/console/queue/")  # the process's first page reads what it then keeps (the calendar, the policy)
    few, html = _queries(client, "/console/queue/")
    assert html.count('href="/console/requests/RR-') == 5
    _queue_rows(customer, 195)
    RefundRequest.objects.filter(pk=RefundRequest.objects.last().pk).update(assignee=agent2)
    many, html = _queries(client, "/console/queue/")
    assert html.count('href="/console/requests/RR-') == 200
    print(f"console queue: {few} queries for 5 rows, {many} for 200")
    assert few == many, (few, many)


# --- the case page ---------------------------------------------------------------------------------


def test_case_page_shows_facts_trace_evidence_and_history(in_review, agent, customer):
    for _ in range(3):
        submit(customer, OrderFactory(customer=customer), reason="changed_mind")
    html = html_of(client_for(agent).get(f"/console/requests/{in_review.public_id}/"))
    assert 'id="facts"' in html and "order.amount" in html and "the amount paid" in html
    assert 'id="trace"' in html and "changed-mind" in html and 'request.reason == "changed_mind"' in html \
        or "request.reason ==" in html
    ev = in_review.evidence.get()
    assert f'<img src="/console/requests/{in_review.public_id}/evidence/{ev.pk}/"' in html
    assert "/media/" not in html
    assert "Frequent refunder" in html and 'id="history"' in html


def test_case_page_query_count_does_not_grow_with_the_customers_history(in_review, agent, customer):
    client = client_for(agent)
    url = f"/console/requests/{in_review.public_id}/"
    _queue_rows(customer, 3)
    client.get(url)  # the policy is compiled once per process: not a query per page
    few, html = _queries(client, url)
    _queue_rows(customer, 37)
    many, html = _queries(client, url)
    assert html.count('href="/console/requests/RR-') >= 40  # the history lists them all
    print(f"case page: {few} queries with 3 earlier requests, {many} with 40")
    assert few == many, (few, many)


def test_a_heic_photo_is_offered_as_a_file_not_a_broken_preview(published_policy, customer, agent):
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64  # browsers cannot show HEIC
    req = submit(customer, OrderFactory(customer=customer), files=[s.Upload("IMG_0001.HEIC", heic)])
    html = html_of(client_for(agent).get(f"/console/requests/{req.public_id}/"))
    ev = req.evidence.get()
    assert ev.content_type == "image/heic"
    assert f'<img src="/console/requests/{req.public_id}/evidence/{ev.pk}/"' not in html
    assert 'aria-label="IMG_0001.HEIC">HEIC</a>' in html


def test_evidence_is_served_only_to_staff(in_review, agent, customer):
    ev = in_review.evidence.get()
    url = f"/console/requests/{in_review.public_id}/evidence/{ev.pk}/"
    response = client_for(agent).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert client_for(customer.user).get(url).status_code == 403
    assert Client().get(url).status_code == 302


def test_ask_offer_accept_from_the_console(in_review, agent, customer):
    client = client_for(agent)
    base = f"/console/requests/{in_review.public_id}/"
    assert client.post(base + "assign/", {"assign-assignee": ""}).status_code == 302
    assert RefundRequest.objects.get().assignee == agent
    assert client.post(base + "ask_info/", {"ask_info-message": "Send logs"}).status_code == 302
    s.refund_request_reply(customer=customer, public_id=in_review.public_id, message="Logs attached")
    assert client.post(base + "offer/", {"offer-amount": "12.50", "offer-clause": "default",
                                         "offer-note": "Half"}).status_code == 302
    assert RefundRequest.objects.get().offered_amount_minor == 1250
    assert client.post(base + "note/", {"note-note": "Called the customer"}).status_code == 302
    html = html_of(client.get(base))
    assert "Called the customer" in html and "staff only" in html


def test_a_service_error_is_shown_beside_its_field_with_the_input_kept(in_review, agent):
    client = client_for(agent)
    response = client.post(f"/console/requests/{in_review.public_id}/offer/",
                           {"offer-amount": "99.00", "offer-clause": "default", "offer-note": "Keep me"})
    html = html_of(response)
    assert response.status_code == 200
    assert 'id="id_offer-amount_error"' in html and "more than is still refundable" in html
    assert 'value="99.00"' in html and "Keep me" in html
    assert RefundRequest.objects.get().status == Status.IN_REVIEW


def test_override_needs_a_reason_beside_that_field(published_policy, customer, order, agent):
    req = submit(customer, order, reason="not_satisfied")
    RefundRequest.objects.filter(pk=req.pk).update(policy_amount_minor=1000)
    response = client_for(agent).post(f"/console/requests/{req.public_id}/approve/", {
        "approve-amount": "20.00", "approve-clause": "prorated", "approve-reason": "Fair"})
    assert 'id="id_approve-override_reason_error"' in html_of(response)


def test_approve_and_reject(published_policy, customer, agent):
    client = client_for(agent)
    a = submit(customer, OrderFactory(customer=customer))
    b = submit(customer, OrderFactory(customer=customer))
    assert client.post(f"/console/requests/{a.public_id}/approve/", {
        "approve-amount": "", "approve-clause": "default", "approve-reason": "Outage confirmed"}).status_code == 302
    assert client.post(f"/console/requests/{b.public_id}/reject/", {
        "reject-clause": "default", "reject-reason": "Works for us"}).status_code == 302
    run_tasks()
    assert RefundRequest.objects.get(pk=a.pk).status == Status.REFUNDED
    assert RefundRequest.objects.get(pk=b.pk).status == Status.REJECTED


def test_appeals_queue_and_decision(in_review, agent, supervisor, supervisor2, customer):
    s.refund_request_reject(public_id=in_review.public_id, user=supervisor, reason="No fault", clause="default")
    s.refund_request_appeal(customer=customer, public_id=in_review.public_id, reason="Please look again")
    assert in_review.public_id in html_of(client_for(supervisor2).get("/console/appeals/"))
    url = f"/console/requests/{in_review.public_id}/appeal_reject/"
    data = {"appeal-clause": "default", "appeal-reason": "Confirmed"}
    # an agent cannot, and the supervisor who rejected it cannot either
    assert client_for(agent).post(url, data).status_code == 403
    response = client_for(supervisor).post(url, data)
    assert "another supervisor must decide it" in html_of(response)
    assert client_for(supervisor2).post(url, data).status_code == 302
    assert RefundRequest.objects.get().status == Status.REJECTED_FINAL
    response = client_for(supervisor2).post(f"/console/requests/{in_review.public_id}/mediation/", {
        "mediation-mediator": "Consumer council", "mediation-outcome": "Agreed: no refund"})
    assert response.status_code == 302
    assert "Consumer council" in html_of(client_for(supervisor2).get(f"/console/requests/{in_review.public_id}/"))


# --- finance -----------------------------------------------------------------------------------------


def test_finance_marks_a_manual_refund_paid(published_policy, agent, finance):
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, gateway="manual", payment_method="bank_transfer")
    UsageFactory(order=order)
    req = submit(customer, order, reason="duplicate_charge")
    refund = Refund.objects.get(request=req)
    client = client_for(finance)
    html = html_of(client.get("/console/finance/"))
    assert req.public_id in html and "Mark as paid" in html
    response = client.post(f"/console/finance/{refund.pk}/paid/", {f"paid-{refund.pk}-reference": ""})
    assert f'id="id_paid-{refund.pk}-reference_error"' in html_of(response)
    response = client.post(f"/console/finance/{refund.pk}/paid/", {f"paid-{refund.pk}-reference": "BANK-123"})
    assert response.status_code == 302
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED and refund.gateway_ref == "BANK-123"
    assert RefundRequest.objects.get(pk=req.pk).status == Status.REFUNDED
    assert req.public_id not in html_of(client.get("/console/finance/"))


def test_finance_retries_a_failed_refund(published_policy, finance):
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, amount_minor=10013)  # the sandbox declines amounts ending 0013
    UsageFactory(order=order)
    req = submit(customer, order, reason="duplicate_charge")
    run_tasks()
    refund = Refund.objects.get(request=req)
    assert refund.status == RefundStatus.FAILED
    client = client_for(finance)
    assert "Retry" in html_of(client.get("/console/finance/"))
    assert client.post(f"/console/finance/{refund.pk}/retry/").status_code == 302
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PENDING
    assert RefundRequest.objects.get(pk=req.pk).status == Status.REFUNDING


# --- the policy editor -------------------------------------------------------------------------------


def _docs():
    return TEST_POLICY.read_text(encoding="utf-8"), TEST_POLICY.with_name("policy.cases.yaml").read_text("utf-8")


def test_policy_editor_starts_from_the_version_in_force(published_policy, policy_owner):
    html = html_of(client_for(policy_owner).get("/console/policy/"))
    assert "workflow-test" in html and "No draft yet" in html


def test_check_shows_the_problem_with_clause_and_line(policy_owner):
    document, cases = _docs()
    broken = document.replace('request.reason == "changed_mind"', 'request.reasn == "changed_mind"')
    html = html_of(client_for(policy_owner).post("/console/policy/", {
        "document": broken, "cases": cases, "action": "check"}))
    assert 'id="check-result"' in html and "changed-mind" in html and "draft:" in html
    assert "request.reasn" in html  # the text typed is kept


def test_tests_diff_save_and_publish(published_policy, policy_owner):
    document, cases = _docs()
    client = client_for(policy_owner)
    html = html_of(client.post("/console/policy/", {"document": document, "cases": cases, "action": "test"}))
    assert "OK: " in html and "PASS" in html
    changed = document.replace("version: 1", "version: 2").replace("A person will look at it.",
                                                                    "Someone will look at it.")
    html = html_of(client.post("/console/policy/", {"document": changed, "cases": cases, "action": "diff"}))
    assert 'class="del">-version: 1' in html and 'class="add">+version: 2' in html
    assert client.post("/console/policy/", {"document": changed, "cases": cases, "action": "save"}).status_code == 302
    assert PolicyDraft.objects.get().document == changed
    response = client.post("/console/policy/", {"document": changed, "cases": cases, "action": "publish",
                                                "publish-effective_at": "2030-01-01T00:00",
                                                "publish-major_change": "on", "publish-change_note": "wording"})
    assert response.status_code == 302
    version = PolicyVersion.objects.get(version="2")
    assert version.major_change and version.published_by == policy_owner
    assert timezone.localtime(version.effective_at).year == 2030


def test_publishing_failing_tests_is_refused_with_the_failures(published_policy, policy_owner):
    document, cases = _docs()
    changed = document.replace("version: 1", "version: 3").replace("outcome: reject\n    explanation: {en: \"Changing",
                                                                   "outcome: review\n    explanation: {en: \"Changing")
    response = client_for(policy_owner).post("/console/policy/", {
        "document": changed, "cases": cases, "action": "publish"})
    html = html_of(response)
    assert response.status_code == 200 and "do not pass" in html and "FAIL" in html
    assert not PolicyVersion.objects.filter(version="3").exists()


# --- friendly error pages -----------------------------------------------------------------------------


def test_error_pages_in_both_languages(db, rf):
    from django.utils import translation
    from django.views import defaults

    assert "We cannot find that page" in html_of(Client(HTTP_ACCEPT_LANGUAGE="en").get("/portal/nowhere/x/y/"))
    zh = html_of(Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/no-such-page/"))
    assert "找不到该页面" in zh and 'lang="zh-hans"' in zh
    for language, words in (("en", "Something went wrong on our side"), ("zh-hans", "我们这边出了问题")):
        with translation.override(language):
            response = defaults.server_error(rf.get("/"))
        assert response.status_code == 500 and words in html_of(response)
    with translation.override("zh-hans"):
        response = defaults.bad_request(rf.get("/"), exception=None)
    assert response.status_code == 400 and "无法理解" in html_of(response)



def test_a_request_without_a_deadline_says_why_in_both_languages(published_policy, customer, agent, settings,
                                                                  tmp_path):
    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)  # no schedule for 2027
    when = dt.datetime(2026, 12, 30, 10, tzinfo=dt.UTC)
    req = submit(customer, OrderFactory(customer=customer, purchased_at=when - dt.timedelta(days=2)), now=when)
    assert req.review_due_at is None
    for url in ("/console/queue/", f"/console/requests/{req.public_id}/"):
        assert "No deadline yet: the holiday schedule it needs is missing" in html_of(client_for(agent).get(url))
        zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        zh.force_login(agent)
        assert "暂无处理期限：所需年份的节假日安排尚未录入" in html_of(zh.get(url))
    (tmp_path / "CN-2027.yaml").write_text("country: CN\nyear: 2027\ndays_off: [{from: 2027-01-01}]\n",
                                           encoding="utf-8")
    s.deadlines_fill()
    html = html_of(client_for(agent).get(f"/console/requests/{req.public_id}/"))
    assert "No deadline yet" not in html and "Deadline set (the holiday schedule is now known)" in html


def test_the_queue_warns_when_the_holiday_schedule_deadlines_will_need_is_missing(agent, supervisor, settings,
                                                                                    tmp_path):
    from refunddesk.refunds.deadlines import missing_year

    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)
    year = missing_year(timezone.localdate())
    en = html_of(client_for(agent).get("/console/queue/"))
    zh_client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    zh_client.force_login(agent)
    zh = html_of(zh_client.get("/console/queue/"))
    if year is None:  # before 15 November with this year's schedule known: nothing to say
        assert 'id="calendar-notice"' not in en
    else:
        # only those who can act on it are told: agents cannot record a schedule, supervisors can
        assert 'id="calendar-notice"' not in en and 'id="calendar-notice"' not in zh
        boss = html_of(client_for(supervisor).get("/console/queue/"))
        assert f"No holiday schedule for {year} yet." in boss and f'href="/console/calendar/?year={year}"' in boss
        zh_client.force_login(supervisor)
        assert f"尚未录入 {year} 年的节假日安排。" in html_of(zh_client.get("/console/queue/"))
    today = timezone.localdate()
    for y in (today.year, today.year + 1):  # both years recorded: no notice
        (tmp_path / f"CN-{y}.yaml").write_text(f"country: CN\nyear: {y}\ndays_off: [{{from: {y}-01-01}}]\n",
                                               encoding="utf-8")
    assert 'id="calendar-notice"' not in html_of(client_for(supervisor).get("/console/queue/"))


# --- the holiday calendar page ------------------------------------------------------------------

SCHEDULE_2027 = "country: CN\nyear: 2027\nsource: test\ndays_off:\n  - {name: New Year, from: 2027-01-01, to: 2027-01-03}\n"


def schedule_post(year=2027, days_off=(("New Year", "2027-01-01", "2027-01-03"),), working=(), source="test"):
    """The calendar page's form as a browser posts it: the year, then rows of days off and make-up days."""
    data = {"action": "record", "year": str(year), "source": source,
            "off-TOTAL_FORMS": str(len(days_off) + 2), "off-INITIAL_FORMS": "0",
            "work-TOTAL_FORMS": str(len(working) + 2), "work-INITIAL_FORMS": "0"}
    for i, (name, start, end) in enumerate(days_off):
        data.update({f"off-{i}-name": name, f"off-{i}-start": start, f"off-{i}-end": end})
    for i, day in enumerate(working):
        data[f"work-{i}-day"] = day
    return data


def test_a_supervisor_records_a_missing_year_and_deadlines_use_it(published_policy, customer, supervisor, agent,
                                                                   settings, tmp_path):
    from refunddesk.core.models import HolidaySchedule

    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)  # no files: 2027 is missing
    when = dt.datetime(2026, 12, 30, 10, tzinfo=dt.UTC)
    req = submit(customer, OrderFactory(customer=customer, purchased_at=when - dt.timedelta(days=2)), now=when)
    assert req.review_due_at is None
    assert client_for(agent).get("/console/calendar/").status_code == 403
    boss = client_for(supervisor)
    html = html_of(boss.get("/console/calendar/"))
    assert 'id="year-2027"' in html and "Deadlines that reach into 2027 cannot be computed." in html
    if timezone.localdate().year <= 2027:
        assert "the holidays package 0.109" in html  # 2026
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    zh.force_login(supervisor)
    assert "延伸到 2027 年的处理期限无法计算。" in html_of(zh.get("/console/calendar/"))

    # the schedule is a form of dates, not YAML; the package's days of that year are beside it
    draft = html_of(boss.get("/console/calendar/?year=2027"))
    assert 'name="year"' in draft and 'value="2027"' in draft and 'name="off-0-start"' in draft
    assert 'type="date"' in draft and "year: 2027" not in draft and "<textarea" not in draft
    assert 'id="package-days"' in draft and "does not have the official schedule for 2027" in draft
    assert "New Year" in draft  # the package's 2027 holidays, named
    # nothing filled in: refused beside the days off, nothing stored
    response = boss.post("/console/calendar/", schedule_post(days_off=()))
    html = html_of(response)
    assert response.status_code == 200 and "List at least one day off" in html and not HolidaySchedule.objects.exists()
    # a day off outside the year: refused with the entry named
    response = boss.post("/console/calendar/", schedule_post(days_off=(("New Year", "2026-12-31", "2027-01-02"),)))
    html = html_of(response)
    assert "Not recorded: the schedule is not valid" in html and "is not in 2027" in html
    assert not HolidaySchedule.objects.exists()
    # a make-up working day that is a weekday anyway
    html = html_of(boss.post("/console/calendar/", schedule_post(working=("2027-01-05",))))
    assert "a working day anyway" in html

    response = boss.post("/console/calendar/", schedule_post(), follow=True)
    html = html_of(response)
    assert "The schedule for 2027 is recorded and used from now on." in html
    assert "recorded here by" in html and "3 days off, 0 make-up working days" in html
    s.deadlines_fill_on_calendar_change(seen=None)  # what the worker does within a minute
    req.refresh_from_db()
    assert req.review_due_at is not None and req.review_due_at.date() == dt.date(2027, 1, 5)
    # editing shows it as recorded; recording it again replaces it; removing it makes the year missing again
    edit = html_of(boss.get("/console/calendar/?year=2027"))
    assert 'value="New Year"' in edit and 'value="2027-01-01"' in edit and 'value="2027-01-03"' in edit
    boss.post("/console/calendar/", schedule_post(working=("2027-01-09",)))
    assert "2027-01-09" in HolidaySchedule.objects.get().document
    html = html_of(boss.post("/console/calendar/", {"action": "remove", "year": "2027"}, follow=True))
    assert "The schedule for 2027 was removed." in html and not HolidaySchedule.objects.exists()
    html = html_of(boss.post("/console/calendar/", {"action": "remove", "year": "2027"}, follow=True))
    assert "No schedule for 2027 was recorded here." in html


def test_a_recorded_year_wins_over_a_file(supervisor, settings, tmp_path):
    from refunddesk.core.services import holiday_schedule_record
    from refunddesk.refunds import deadlines

    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)
    (tmp_path / "CN-2027.yaml").write_text(SCHEDULE_2027, encoding="utf-8")
    assert "the file " in html_of(client_for(supervisor).get("/console/calendar/"))
    assert deadlines.calendar().is_business_day(dt.date(2027, 1, 4))
    holiday_schedule_record(document=SCHEDULE_2027.replace("2027-01-03", "2027-01-04"), country="CN")
    assert not deadlines.calendar().is_business_day(dt.date(2027, 1, 4))
    assert "recorded here by ?" in html_of(client_for(supervisor).get("/console/calendar/"))

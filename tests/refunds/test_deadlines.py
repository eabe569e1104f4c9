"""Review deadlines in business days on China's calendar, paused while waiting for the customer."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from refunddesk.refunds import selectors
from refunddesk.refunds import services as s
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(y, m, d, h=10, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=SH)


def end_of(y, m, d):
    return dt.datetime(y, m, d, 23, 59, 59, 999999, tzinfo=SH)


def submit_at(customer, when):
    order = OrderFactory(customer=customer, purchased_at=when - dt.timedelta(days=2))
    return s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue",
                                   now=when)


@pytest.mark.parametrize(("submitted", "due"), [
    (at(2026, 3, 2), end_of(2026, 3, 5)),      # Monday -> Thursday
    (at(2026, 3, 6), end_of(2026, 3, 11)),     # Friday -> over the weekend -> Wednesday
    (at(2026, 2, 13), end_of(2026, 2, 25)),    # before Spring Festival: make-up Sat 14 Feb counts, 15-23 off
    (at(2026, 2, 18), end_of(2026, 2, 26)),    # during the holiday: counted from the first working day
    (at(2026, 9, 30), end_of(2026, 10, 10)),   # before National Day: 1-7 Oct off, Sat 10 Oct is a working day
    (at(2026, 9, 19, 22), end_of(2026, 9, 22)),  # Saturday evening; make-up Sunday 20 Sep counts as day 1
])
def test_review_deadline(published_policy, customer, submitted, due):
    req = submit_at(customer, submitted)
    assert req.review_due_at.astimezone(SH) == due


def test_deadline_stops_while_waiting_for_the_customer(published_policy, customer, agent):
    req = submit_at(customer, at(2026, 3, 2))
    assert req.review_due_at.astimezone(SH) == end_of(2026, 3, 5)
    s.refund_request_ask_info(public_id=req.public_id, user=agent, message="Which device?", now=at(2026, 3, 3))
    # three business days pass while the customer is away
    req = s.refund_request_reply(customer=customer, public_id=req.public_id, message="iPhone", now=at(2026, 3, 6))
    assert req.review_due_at.astimezone(SH) == end_of(2026, 3, 10)
    assert req.paused_at is None


def test_a_pause_over_a_weekend_adds_nothing(published_policy, customer, agent):
    req = submit_at(customer, at(2026, 3, 5))  # Thursday -> due Tuesday 10 March
    assert req.review_due_at.astimezone(SH) == end_of(2026, 3, 10)
    s.refund_request_ask_info(public_id=req.public_id, user=agent, message="?", now=at(2026, 3, 7, 0))
    req = s.refund_request_reply(customer=customer, public_id=req.public_id, message="ok", now=at(2026, 3, 9, 0))
    assert req.review_due_at.astimezone(SH) == end_of(2026, 3, 10)


def test_overdue_requests_are_flagged_and_listed(published_policy, customer):
    req = submit_at(customer, at(2026, 3, 2))
    assert not selectors.is_overdue(req, now=at(2026, 3, 5, 23))
    assert selectors.is_overdue(req, now=at(2026, 3, 6, 0, 1))
    assert list(selectors.overdue(now=at(2026, 3, 6, 9))) == [req]
    assert list(selectors.overdue(now=at(2026, 3, 4))) == []


def test_a_year_without_a_holiday_schedule_flags_the_request_instead_of_refusing_it(published_policy, customer,
                                                                                     settings, tmp_path):
    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)  # no schedule files
    req = submit_at(customer, at(2026, 12, 30))  # 3 business days later is in 2027: no schedule published yet
    assert req.review_due_at is None
    event = req.timeline.get(action="policy_review")
    assert "2027" in event.data["deadline_error"]


# -- a year the holidays package lacks, recorded by the merchant ------------------------------------

# Illustrative, NOT the official 2027 schedule: New Year 1-3 January off (Friday to Sunday).
SCHEDULE_2027 = """\
country: CN
year: 2027
source: test data
days_off:
  - {name: New Year, from: 2027-01-01, to: 2027-01-03}
working_days: []
"""


def _walk(customer, agent, when):
    """Submitted Wed 30 Dec 2026, the customer asked on the 31st, answering on Tue 5 Jan 2027."""
    req = submit_at(customer, when)
    s.refund_request_ask_info(public_id=req.public_id, user=agent, message="Which device?",
                              now=when + dt.timedelta(days=1))
    return s.refund_request_reply(customer=customer, public_id=req.public_id, message="iPhone",
                                  now=at(2027, 1, 5))


def test_recording_the_schedule_then_filling_gives_the_deadline_a_live_request_gets(
        published_policy, customer, agent, settings, tmp_path):
    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)
    waited = _walk(customer, agent, at(2026, 12, 30))
    assert waited.review_due_at is None
    assert s.deadlines_fill().filled == []  # nothing to compute it from yet
    assert "2027" in s.deadlines_fill().missing[waited.public_id]

    (tmp_path / "CN-2027.yaml").write_text(SCHEDULE_2027, encoding="utf-8")  # seen without a restart
    live = _walk(customer, agent, at(2026, 12, 30))
    # Thu 31 Dec, Mon 4 and Tue 5 Jan; then the pause (31 Dec 10:00 - 5 Jan 10:00) adds 2 business days
    assert live.review_due_at.astimezone(SH) == end_of(2027, 1, 7)

    result = s.deadlines_fill()
    assert result.filled == [waited.public_id] and result.missing == {}
    waited.refresh_from_db()
    assert waited.review_due_at == live.review_due_at
    event = waited.timeline.get(action="deadline_set")
    assert event.data == {"review_due_at": live.review_due_at.isoformat()} and not event.visible_to_customer
    assert s.deadlines_fill().filled == []  # done once: running again changes nothing


def test_fill_never_changes_a_deadline_a_request_has(published_policy, customer, settings, tmp_path):
    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)
    ok = submit_at(customer, at(2026, 12, 1))
    before = ok.review_due_at
    (tmp_path / "CN-2027.yaml").write_text(SCHEDULE_2027, encoding="utf-8")
    assert s.deadlines_fill().filled == []
    ok.refresh_from_db()
    assert ok.review_due_at == before


def test_a_schedule_file_that_is_not_valid_is_named_in_the_flag(published_policy, customer, settings, tmp_path):
    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)
    (tmp_path / "CN-2027.yaml").write_text(SCHEDULE_2027.replace("2027-01-03", "2027-13-03"), encoding="utf-8")
    req = submit_at(customer, at(2026, 12, 30))
    assert req.review_due_at is None
    error = req.timeline.get(action="policy_review").data["deadline_error"]
    assert "CN-2027.yaml" in error and "'2027-13-03' is not a date" in error


def test_the_year_soon_missing_is_next_year_from_15_november(settings, tmp_path):
    from refunddesk.refunds.deadlines import missing_year

    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)
    assert missing_year(dt.date(2026, 6, 1)) is None
    assert missing_year(dt.date(2026, 11, 14)) is None
    assert missing_year(dt.date(2026, 11, 15)) == 2027
    assert missing_year(dt.date(2027, 3, 1)) == 2027  # this year itself
    (tmp_path / "CN-2027.yaml").write_text(SCHEDULE_2027, encoding="utf-8")
    assert missing_year(dt.date(2026, 12, 1)) is None
    assert missing_year(dt.date(2027, 11, 20)) == 2028


def test_a_reply_whose_paused_deadline_moves_into_a_missing_year_is_taken_and_filled_later(
        published_policy, customer, agent, settings, tmp_path):
    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)

    def walk():
        req = submit_at(customer, at(2026, 12, 21))  # Monday: due Thursday 24 December
        assert req.review_due_at.astimezone(SH) == end_of(2026, 12, 24)
        s.refund_request_ask_info(public_id=req.public_id, user=agent, message="?", now=at(2026, 12, 22))
        # six business days away (22 Dec 10:00 - 30 Dec 10:00): the deadline moves by as much, into 2027
        return s.refund_request_reply(customer=customer, public_id=req.public_id, message="ok", now=at(2026, 12, 30))

    waited = walk()  # the customer's answer is taken even though the new deadline cannot be computed
    assert waited.status == "in_review" and waited.review_due_at is None
    assert "2027" in waited.timeline.get(action="reply").data["deadline_error"]
    (tmp_path / "CN-2027.yaml").write_text(SCHEDULE_2027, encoding="utf-8")
    live = walk()
    assert live.review_due_at.astimezone(SH) == end_of(2027, 1, 4)  # 25, 28-31 December, then 4 January
    assert s.deadlines_fill().filled == [waited.public_id]
    waited.refresh_from_db()
    assert waited.review_due_at == live.review_due_at


def test_the_worker_fills_deadlines_once_a_schedule_file_appears(published_policy, customer, settings, tmp_path):
    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)
    req = submit_at(customer, at(2026, 12, 30))
    seen = s.deadlines_fill_on_calendar_change(seen=None)
    assert s.deadlines_fill_on_calendar_change(seen=seen) is seen  # nothing changed: nothing done
    (tmp_path / "CN-2027.yaml").write_text(SCHEDULE_2027, encoding="utf-8")
    assert s.deadlines_fill_on_calendar_change(seen=seen) is not seen
    req.refresh_from_db()
    assert req.review_due_at.astimezone(SH) == end_of(2027, 1, 5)

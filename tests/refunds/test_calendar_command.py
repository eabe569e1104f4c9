"""`refunddesk calendar check|status|fill-deadlines`."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from tests.core.test_schedules import GOOD_2027, readme_example
from tests.refunds.test_deadlines import submit_at

SH = ZoneInfo("Asia/Shanghai")


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("calendar", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_check_says_what_a_file_holds_and_that_the_package_agrees(tmp_path):
    path = tmp_path / "CN-2026.yaml"
    path.write_text(readme_example(), encoding="utf-8")
    out, _ = run("check", str(path))
    assert "valid. CN 2026: 33 days off, 6 make-up working day(s), 248 business days" in out
    assert "The same business days as the holidays package" in out


def test_check_lists_the_days_where_a_file_and_the_package_differ(tmp_path):
    path = tmp_path / "CN-2026.yaml"
    path.write_text(readme_example().replace("- 2026-10-10\n", ""), encoding="utf-8")
    out, _ = run("check", str(path))
    assert "Differs from the holidays package" in out
    assert "2026-10-10 Sat: day off in the file, business day in the package" in out


def test_check_of_a_year_the_package_lacks_and_of_a_bad_file(tmp_path):
    path = tmp_path / "CN-2027.yaml"
    path.write_text(GOOD_2027, encoding="utf-8")
    out, _ = run("check", str(path))
    assert "no source given" in out and "has no official schedule for 2027: this file decides it" in out
    path.write_text(GOOD_2027.replace("[2027-02-20]", "[2027-02-22]"), encoding="utf-8")
    with pytest.raises(CommandError, match="2027-02-22 is a Monday"):
        run("check", str(path))
    with pytest.raises(CommandError, match="cannot read the schedule"):
        run("check", str(tmp_path / "nothing.yaml"))


@pytest.mark.django_db
def test_status_shows_where_each_year_comes_from(settings, tmp_path):
    from refunddesk.core.services import holiday_schedule_record

    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)
    this_year = dt.date.today().year
    filed, broken, recorded = this_year + 3, this_year + 4, this_year + 5  # years no `holidays` release has yet
    (tmp_path / f"CN-{filed}.yaml").write_text(f"country: CN\nyear: {filed}\ndays_off: [{{from: {filed}-01-01}}]\n",
                                                encoding="utf-8")
    (tmp_path / f"CN-{broken}.yaml").write_text("country: CN\n", encoding="utf-8")
    holiday_schedule_record(document=f"country: CN\nyear: {recorded}\ndays_off: [{{from: {recorded}-01-01}}]\n",
                            country="CN")
    out, err = run("status", "--years", "6")
    assert f"  {this_year}:" in out
    assert f"{filed}: schedule file" in out
    assert f"{broken}: MISSING" in out
    assert f"{recorded}: recorded in the console" in out
    assert "cannot use:" in err and f"CN-{broken}.yaml" in err


@pytest.mark.django_db
def test_fill_deadlines_reports_what_it_did_and_what_is_left(published_policy, customer, settings, tmp_path):
    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)
    req = submit_at(customer, dt.datetime(2026, 12, 30, 10, tzinfo=SH))
    with pytest.raises(CommandError, match="1 request\\(s\\) still have no deadline"):
        run("fill-deadlines")
    (tmp_path / "CN-2027.yaml").write_text(GOOD_2027, encoding="utf-8")
    out, err = run("fill-deadlines")
    assert f"1 request(s) given their deadlines: {req.public_id}" in out and err == ""
    out, _ = run("fill-deadlines")
    assert out.startswith("0 request(s)")


@pytest.mark.django_db
def test_a_refund_paid_late_in_december_gets_its_arrival_date_once_the_schedule_is_known(
        published_policy, customer, agent, finance, settings, tmp_path):
    from refunddesk.payments.models import Refund
    from refunddesk.payments.services import refund_mark_paid
    from refunddesk.refunds import services as s
    from tests.factories import OrderFactory

    settings.REFUNDDESK_CALENDARS_DIR = str(tmp_path)
    when = dt.datetime(2026, 12, 21, 10, tzinfo=SH)  # a bank transfer takes up to 15 business days
    order = OrderFactory(customer=customer, gateway="manual", payment_method="bank_transfer",
                         purchased_at=when - dt.timedelta(days=2))
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue",
                                  now=when)
    s.refund_request_approve(public_id=req.public_id, user=agent, reason="ok", clause="default", now=when)
    refund = refund_mark_paid(refund_id=Refund.objects.get(request=req).pk, user=finance, reference="B-1",
                              now=when + dt.timedelta(hours=1))
    assert refund.status == "succeeded" and refund.arrival_by is None  # the money is recorded all the same
    (tmp_path / "CN-2027.yaml").write_text(GOOD_2027, encoding="utf-8")
    out, _ = run("fill-deadlines")
    assert f"1 paid refund(s) given their arrival dates: {req.public_id}" in out
    refund.refresh_from_db()
    # 22-31 Dec: 8 business days; 1-3 Jan off; 4-8 Jan and 11-12 Jan: the 15th is Tue 12 Jan
    assert refund.arrival_by.astimezone(SH) == dt.datetime(2027, 1, 12, 23, 59, 59, 999999, tzinfo=SH)
    out, _ = run("fill-deadlines")
    assert "paid refund" not in out

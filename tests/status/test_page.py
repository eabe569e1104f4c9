"""The public status page: states, daily availability, history, both languages, cache, query count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from refunddesk.status import services
from refunddesk.status.models import Incident
from refunddesk.status.selectors import WINDOW_DAYS, status_board
from tests.status.conftest import incident

pytestmark = pytest.mark.django_db


def page(lang="en", path="/status/"):
    return Client(HTTP_ACCEPT_LANGUAGE=lang).get(path)


@pytest.fixture
def history(regions):
    now = timezone.now()
    down = incident(("cn-east",), hours=5, ended_hours_ago=None, title_en="Packet loss in Shanghai",
                    title_zh="上海丢包", message_en="We are looking into it", message_zh="正在调查")
    slow = incident(("cn-north",), hours=2, ended_hours_ago=None, severity="degraded", title_en="Slow handshakes",
                    title_zh="握手缓慢")
    past = incident(("eu-west", "cn-east"), hours=30, ended_hours_ago=48, title_en="Frankfurt power failure",
                    title_zh="法兰克福断电", cause="utility power lost", cause_zh="市电中断", force_majeure=True,
                    force_majeure_note_zh="台风登陆切断海底光缆")
    old = incident(("eu-west",), hours=10, ended_hours_ago=24 * 200, title_en="Ancient history", title_zh="旧事")
    return {"now": now, "down": down, "slow": slow, "past": past, "old": old}


def test_the_page_in_english(history):
    r = page("en")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Service outage in some regions" in html
    for text in ("China East", "China North", "Europe West", "Packet loss in Shanghai", "Slow handshakes",
                 "Frankfurt power failure", "utility power lost", "We are looking into it"):
        assert text in html, text
    assert "Ancient history" not in html  # older than 90 days
    assert html.count('class="st-day ') == 3 * WINDOW_DAYS


def test_the_page_in_chinese(history):
    html = page("zh-hans").content.decode()
    assert 'lang="zh-hans"' in html
    for text in ("华东", "华北", "欧洲西部", "上海丢包", "握手缓慢", "法兰克福断电", "正在调查", "市电中断",
                 "台风登陆切断海底光缆"):
        assert text in html, text
    for text in ("Packet loss in Shanghai", "utility power lost", "Typhoon landfall"):
        assert text not in html, text


def test_states_and_daily_availability(regions):
    now = timezone.now()
    today = timezone.localdate(now)
    tz = timezone.get_current_timezone()
    day = today - dt.timedelta(days=3)
    noon = timezone.make_aware(dt.datetime.combine(day, dt.time(12)), tz)
    services.incident_open(title_en="half a day", regions=["cn-east"], started_at=noon,
                           ended_at=noon + dt.timedelta(hours=12))
    services.incident_open(title_en="overlapping", regions=["cn-east"], started_at=noon + dt.timedelta(hours=6),
                           ended_at=noon + dt.timedelta(hours=13))  # overlaps and spills 1h into the next day
    services.incident_open(title_en="slow", regions=["cn-north"], severity="degraded",
                           started_at=noon, ended_at=noon + dt.timedelta(hours=1))
    board = status_board(now=now)
    east, north, europe = board.regions
    by_date = {d.date: d for d in east.days}
    assert by_date[day].availability == pytest.approx(0.5) and by_date[day].level == "major"
    assert by_date[day + dt.timedelta(days=1)].outage_seconds == pytest.approx(3600)
    assert by_date[day + dt.timedelta(days=1)].level == "partial"
    assert {d.level for d in north.days} == {"ok", "degraded"} and north.state == "operational"
    assert {d.level for d in europe.days} == {"ok"} and europe.uptime == 1.0
    assert east.uptime == pytest.approx(1 - 13 / (24 * (WINDOW_DAYS - 1) + (now - timezone.make_aware(
        dt.datetime.combine(today, dt.time.min), tz)).total_seconds() / 3600), rel=1e-6)
    assert float(east.recent_uptime_percent) < float(east.uptime_percent) < 100  # the phone's 30 days
    assert europe.recent_uptime_percent == "100"
    assert board.days[-1] == today and len(board.days) == WINDOW_DAYS
    assert board.state == "operational"


def test_queries_do_not_grow_with_history(regions):
    now = timezone.now()
    for n in range(3):
        incident(("cn-east",), hours=2, ended_hours_ago=24 * n + 5, message_en="update")
    with CaptureQueriesContext(connection) as few:
        board = status_board(now=now)
    assert len(board.incidents) == 3
    # years of history, more incidents and updates in the window, more regions
    for n in range(300):
        incident(("eu-west",), hours=3, ended_hours_ago=24 * (100 + n * 3), message_en="old")
    for n in range(30):
        inc = incident(("cn-north", "eu-west"), hours=1, ended_hours_ago=24 * n + 2, message_en="a")
        services.incident_update(incident_id=inc.pk, message_en="b")
    services.region_upsert(code="ap-south", name_en="Asia South")
    with CaptureQueriesContext(connection) as many:
        board = status_board(now=now)
    assert len(board.incidents) == 33
    assert len(few.captured_queries) == len(many.captured_queries) == 3


def test_the_page_is_cached_and_redrawn_when_an_incident_changes(history, django_capture_on_commit_callbacks):
    assert "Packet loss in Shanghai" in page().content.decode()
    with CaptureQueriesContext(connection) as cached:
        r = page()
    assert r.status_code == 200 and len(cached.captured_queries) == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.incident_update(incident_id=history["down"].pk, title_en="Packet loss fixed in part")
    assert "Packet loss fixed in part" in page().content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Incident.objects.filter(pk=history["down"].pk).first().delete()  # an admin deletes it
    assert "Packet loss fixed in part" not in page().content.decode()


def test_an_incident_page(history):
    r = page("en", f"/status/incidents/{history['past'].pk}/")
    assert r.status_code == 200 and "Frankfurt power failure" in r.content.decode()
    assert "Typhoon" in r.content.decode()  # the force majeure note is public
    assert page("en", "/status/incidents/999999/").status_code == 404

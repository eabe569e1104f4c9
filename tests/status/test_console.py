"""Console pages for incidents: who may use them, the forms, the compensation button and its progress."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from refunddesk.status.models import CompensationRun, Incident, RunStatus
from tests.status.conftest import incident
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db


def as_user(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def admin_user(db):
    from django.contrib.auth.models import Group

    from refunddesk.core import roles
    from tests.factories import UserFactory

    user = UserFactory(username="admin_a", is_staff=True)
    user.groups.set(Group.objects.filter(name=roles.ADMIN))
    return user


def test_only_supervisors_and_admins(regions, agent, supervisor, admin_user):
    assert Client().get("/console/status/").status_code == 302  # to the sign-in page
    assert as_user(agent).get("/console/status/").status_code == 403
    assert as_user(supervisor).get("/console/status/").status_code == 200
    assert as_user(admin_user).get("/console/status/").status_code == 200
    assert as_user(agent).post("/console/status/incidents/new/", {}).status_code == 403


def test_open_update_correct_close(regions, supervisor):
    client = as_user(supervisor)
    assert client.get("/console/status/incidents/new/").status_code == 200
    start = timezone.localtime(timezone.now() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    r = client.post("/console/status/incidents/new/", {
        "title_en": "Backbone down", "title_zh": "骨干网中断", "regions": ["cn-east", "cn-north"],
        "severity": "outage", "started_at": start, "message_en": "Investigating", "message_zh": "正在调查"})
    assert r.status_code == 302, r.content.decode()[:3000]
    incident_ = Incident.objects.get()
    assert incident_.source == "console:super_a" and incident_.updates.count() == 1
    detail = f"/console/status/incidents/{incident_.pk}/"
    page = client.get(detail).content.decode()
    assert "Backbone down" in page and "Post an update" in page and "Close the incident" in page

    r = client.post(detail + "update/", {"kind": "identified", "message_en": "Fibre cut", "message_zh": ""})
    assert r.status_code == 302 and incident_.updates.count() == 2

    r = client.post(detail + "update/", {"kind": "identified", "message_en": "", "message_zh": ""})
    assert r.status_code == 400 and "Write the update" in r.content.decode()

    r = client.post(detail + "edit/", {"title_en": "Backbone cut", "title_zh": "骨干网断", "regions": ["cn-east"],
                                       "severity": "outage", "started_at": start, "cause": "excavator",
                                       "force_majeure": "on", "force_majeure_note": ""})
    assert r.status_code == 400 and "force majeure was" in r.content.decode()  # the note is required
    r = client.post(detail + "edit/", {"title_en": "Backbone down", "title_zh": "骨干网中断", "regions": ["cn-east"],
                                       "severity": "outage", "started_at": start, "cause": "excavator",
                                       "cause_zh": "挖掘机挖断光缆"})
    assert r.status_code == 302
    page = client.get(detail).content.decode()
    assert "excavator" in page and "挖掘机挖断光缆" in page  # staff see the cause in both languages

    future = timezone.localtime(timezone.now() + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(detail + "close/", {"ended_at": future, "message_en": ""})
    assert r.status_code == 400 and "in the future" in r.content.decode()
    r = client.post(detail + "close/", {"ended_at": "", "message_en": "Repaired"})
    assert r.status_code == 302
    incident_.refresh_from_db()
    assert not incident_.ongoing and incident_.updates.filter(kind="resolved").exists()
    assert "Close the incident" not in client.get(detail).content.decode()
    listing = client.get("/console/status/").content.decode()
    assert "Backbone down" in listing and "Resolved" in listing and detail in listing
    assert client.get("/console/status/incidents/999999/").status_code == 404


def test_the_compensate_button_runs_in_the_background_with_progress(regions, vpn_policy, supervisor):
    from tests.factories import CustomerFactory, OrderFactory, UsageFactory

    inc = incident(("cn-east",), hours=75, ended_hours_ago=2)
    for _ in range(3):
        UsageFactory(order=OrderFactory(customer=CustomerFactory(region="cn-east"),
                                        purchased_at=inc.started_at - dt.timedelta(days=2)))
    client = as_user(supervisor)
    detail = f"/console/status/incidents/{inc.pk}/"
    page = client.get(detail).content.decode()
    assert "Compensate affected orders" in page and "75.0 hours" in page
    r = client.post(detail + "compensate/")
    assert r.status_code == 302
    run = CompensationRun.objects.get(incident=inc)
    assert run.status == RunStatus.QUEUED
    page = client.get(detail).content.decode()
    assert 'data-active="1"' in page and "<progress" in page
    assert '" disabled>Continue the compensation' in page  # no second click while it runs
    progress = client.get(f"/console/status/runs/{run.pk}/progress/").json()
    assert progress["active"] and progress["percent"] == 0
    run_tasks()
    progress = client.get(f"/console/status/runs/{run.pk}/progress/").json()
    assert not progress["active"] and progress["status"] == "done" and progress["percent"] == 100
    assert progress["created"] == progress["approved"] == progress["applied"] == 3
    assert 'data-active="0"' in client.get(detail).content.decode()


def test_a_short_incident_offers_only_to_evaluate_anyway(regions, vpn_policy, supervisor):
    inc = incident(("cn-east",), hours=3, ended_hours_ago=1)
    client = as_user(supervisor)
    page = client.get(f"/console/status/incidents/{inc.pk}/").content.decode()
    assert "Evaluate affected orders anyway" in page and "refunds from 72 hours" in page

"""The status API monitoring uses: open, update, close, list incidents; name regions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from refunddesk.status.models import Incident

pytestmark = pytest.mark.django_db
BASE = "/api/v1/status"


def post(api, path, body):
    return api.post(BASE + path, body, content_type="application/json")


def test_needs_a_key(regions):
    assert Client().get(BASE + "/incidents").status_code == 401
    assert Client().post(BASE + "/incidents", {}, content_type="application/json").status_code == 401


def test_open_update_close_list(api, regions):
    start = (timezone.now() - dt.timedelta(hours=3)).isoformat()
    r = post(api, "/incidents", {"title_en": "Backbone down", "title_zh": "骨干网中断", "regions": ["cn-east"],
                                 "severity": "outage", "started_at": start, "message_en": "Investigating",
                                 "external_ref": "pagerduty-1"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["ongoing"] and body["regions"] == ["cn-east"] and body["updates"][0]["kind"] == "investigating"
    incident_id = body["id"]
    assert Incident.objects.get(pk=incident_id).source == "api:tests"

    again = post(api, "/incidents", {"title_en": "Backbone down", "regions": ["cn-east"], "external_ref": "pagerduty-1"})
    assert again.status_code == 200 and again.json()["id"] == incident_id  # the same alert, sent twice

    r = post(api, f"/incidents/{incident_id}/updates", {"message_en": "Fibre cut found", "kind": "identified",
                                                         "regions": ["cn-east", "cn-north"]})
    assert r.status_code == 201, r.content
    assert r.json()["regions"] == ["cn-east", "cn-north"] and len(r.json()["updates"]) == 2

    r = post(api, f"/incidents/{incident_id}/close", {"message_en": "Repaired"})
    assert r.status_code == 200, r.content
    assert not r.json()["ongoing"] and r.json()["updates"][-1]["kind"] == "resolved"
    assert post(api, f"/incidents/{incident_id}/close", {}).status_code == 409

    listed = api.get(BASE + "/incidents").json()
    assert [i["id"] for i in listed] == [incident_id]
    assert api.get(BASE + "/incidents?ongoing=true").json() == []
    assert api.get(BASE + "/incidents?region=cn-north").json()[0]["id"] == incident_id
    assert api.get(BASE + "/incidents?region=eu-west").json() == []
    assert api.get(BASE + f"/incidents/{incident_id}").json()["title_zh"] == "骨干网中断"
    assert api.get(BASE + "/incidents/999999").status_code == 404
    assert api.get(BASE + "/incidents?limit=0").status_code == 422


@pytest.mark.parametrize(("body", "field"), [
    ({"title_en": "x", "regions": ["atlantis"]}, "regions"),
    ({"title_en": "x", "regions": []}, "regions"),
    ({"title_en": "", "regions": ["cn-east"]}, "title_en"),
    ({"title_en": "x", "regions": ["cn-east"], "severity": "meh"}, "severity"),
    ({"title_en": "x", "regions": ["cn-east"], "started_at": "2099-01-01T00:00:00+00:00"}, "started_at"),
    ({"title_en": "x", "regions": ["cn-east"], "started_at": "2026-01-01T00:00:00"}, "started_at"),
    ({"title_en": "x", "regions": ["cn-east"], "started_at": "2026-01-02T00:00:00+00:00",
      "ended_at": "2026-01-01T00:00:00+00:00"}, "ended_at"),
    ({"title_en": "x", "regions": ["cn-east"], "force_majeure": True}, "force_majeure_note"),
])
def test_open_refusals_name_the_field(api, regions, body, field):
    r = post(api, "/incidents", body)
    assert r.status_code == 422, r.content
    assert r.json()["error"]["field"] == field


def test_update_refusals(api, regions):
    incident_id = post(api, "/incidents", {"title_en": "x", "regions": ["cn-east"]}).json()["id"]
    r = post(api, f"/incidents/{incident_id}/updates", {})
    assert r.status_code == 422 and r.json()["error"]["field"] == "message_en"
    r = post(api, f"/incidents/{incident_id}/close", {"ended_at": "2000-06-01T00:00:00+00:00"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "ended_at"
    assert post(api, "/incidents/999999/updates", {"message_en": "x"}).status_code == 404


def test_regions(api, db):
    r = api.put(BASE + "/regions/ap-south", {"name_en": "Asia South", "name_zh": "南亚"},
                content_type="application/json")
    assert r.status_code == 201 and r.json()["name_zh"] == "南亚"
    r = api.put(BASE + "/regions/ap-south", {"name_en": "Asia South", "name_zh": "南亚", "position": 2},
                content_type="application/json")
    assert r.status_code == 200
    assert [x["code"] for x in api.get(BASE + "/regions").json()] == ["ap-south"]
    r = api.put(BASE + "/regions/BAD CODE", {"name_en": "x"}, content_type="application/json")
    assert r.status_code == 422 and r.json()["error"]["field"] == "code"


def test_cause_and_force_majeure_in_both_languages(api, regions):
    r = post(api, "/incidents", {"title_en": "Typhoon", "regions": ["cn-east"], "cause": "Cable cut",
                                 "cause_zh": "光缆被切断", "force_majeure": True, "force_majeure_note": "Typhoon",
                                 "force_majeure_note_zh": "台风"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["cause"], body["cause_zh"], body["force_majeure_note_zh"]) == ("Cable cut", "光缆被切断", "台风")
    r = post(api, f"/incidents/{body['id']}/updates", {"cause_zh": "海底光缆被切断"})
    assert r.status_code in (200, 201), r.content
    assert Incident.objects.get(pk=body["id"]).cause_text("zh-hans") == "海底光缆被切断"
    assert Incident.objects.get(pk=body["id"]).cause_text("en") == "Cable cut"

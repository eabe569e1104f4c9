"""Incident writes: what they accept, what they refuse (naming the field), what they record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from refunddesk.core.errors import Conflict, NotFound, ValidationError
from refunddesk.status import services
from refunddesk.status.models import Incident, IncidentUpdate, UpdateKind

pytestmark = pytest.mark.django_db


def open_(**kw):
    data = {"title_en": "Backbone down", "title_zh": "骨干网中断", "regions": ["cn-east"]}
    data.update(kw)
    return services.incident_open(**data)


def refused(field: str, func, **kw):
    with pytest.raises(ValidationError) as info:
        func(**kw)
    assert info.value.field == field, (info.value.field, str(info.value))
    return info.value


def test_open_records_everything(regions):
    now = timezone.now()
    incident, created = open_(regions=["cn-east", "cn-north"], severity="degraded", cause="fibre cut",
                              started_at=now - dt.timedelta(hours=2), message_en="Looking into it",
                              message_zh="正在调查", source="api:monitoring")
    assert created and incident.ongoing and incident.severity == "degraded"
    assert sorted(r.code for r in incident.regions.all()) == ["cn-east", "cn-north"]
    update = incident.updates.get()
    assert update.kind == UpdateKind.INVESTIGATING and update.message_zh == "正在调查"
    assert incident.source == "api:monitoring"


def test_open_refuses_what_makes_no_sense(regions):
    now = timezone.now()
    refused("regions", open_, regions=[])
    error = refused("regions", open_, regions=["cn-east", "mars-1"])
    assert "mars-1" in str(error) and "cn-east" in str(error)  # names the unknown one and the known ones
    refused("title_en", open_, title_en="  ")
    refused("severity", open_, severity="catastrophic")
    refused("started_at", open_, started_at=now + dt.timedelta(minutes=30))
    refused("started_at", open_, started_at=dt.datetime(2026, 1, 1, 8, 0))  # no time zone
    refused("ended_at", open_, started_at=now - dt.timedelta(hours=1), ended_at=now - dt.timedelta(hours=2))
    refused("ended_at", open_, started_at=now - dt.timedelta(hours=1), ended_at=now - dt.timedelta(hours=1))
    refused("force_majeure_note", open_, force_majeure=True)
    assert not Incident.objects.exists()


def test_a_few_minutes_of_clock_skew_are_accepted(regions):
    incident, _ = open_(started_at=timezone.now() + dt.timedelta(minutes=3))
    assert incident.pk


def test_one_language_is_shown_in_both(regions):
    incident, _ = open_(title_zh="", message_en="Only English")
    assert incident.title_zh == "Backbone down"
    assert incident.updates.get().message_zh == "Only English"


def test_open_is_idempotent_with_an_external_ref(regions):
    first, created = open_(external_ref="alert-42")
    again, created_again = open_(external_ref="alert-42", title_en="Another title")
    assert created and not created_again and again.pk == first.pk and again.title_en == "Backbone down"


def test_update_posts_and_corrects(regions):
    incident, _ = open_()
    incident, update = services.incident_update(incident_id=incident.pk, message_en="Cause found",
                                                kind="identified", cause="a fibre cut near Hangzhou",
                                                regions=["cn-east", "eu-west"], severity="degraded")
    assert update.kind == "identified"
    incident.refresh_from_db()
    assert incident.cause.startswith("a fibre") and incident.severity == "degraded"
    assert sorted(r.code for r in incident.regions.all()) == ["cn-east", "eu-west"]
    refused("message_en", services.incident_update, incident_id=incident.pk)
    refused("kind", services.incident_update, incident_id=incident.pk, message_en="x", kind="resolved")
    refused("regions", services.incident_update, incident_id=incident.pk, regions=["nowhere"])
    refused("ended_at", services.incident_update, incident_id=incident.pk, ended_at=timezone.now())
    with pytest.raises(NotFound):
        services.incident_update(incident_id=999999, message_en="x")


def test_force_majeure_needs_its_note_and_can_be_set_later(regions):
    incident, _ = open_()
    refused("force_majeure_note", services.incident_update, incident_id=incident.pk, force_majeure=True)
    services.incident_update(incident_id=incident.pk, force_majeure=True, force_majeure_note="Earthquake")
    incident.refresh_from_db()
    assert incident.force_majeure and incident.force_majeure_note == "Earthquake"


def test_close(regions):
    now = timezone.now()
    incident, _ = open_(started_at=now - dt.timedelta(hours=5))
    refused("ended_at", services.incident_close, incident_id=incident.pk, ended_at=now - dt.timedelta(hours=6))
    refused("ended_at", services.incident_close, incident_id=incident.pk, ended_at=now + dt.timedelta(hours=1))
    services.incident_close(incident_id=incident.pk, ended_at=now - dt.timedelta(hours=1))
    incident.refresh_from_db()
    assert incident.ended_at == now - dt.timedelta(hours=1)
    resolved = IncidentUpdate.objects.get(incident=incident, kind="resolved")
    assert resolved.message_zh == "此事件已解决。"
    with pytest.raises(Conflict):
        services.incident_close(incident_id=incident.pk)
    # corrections after closing: an earlier end, but never before the start
    services.incident_update(incident_id=incident.pk, ended_at=now - dt.timedelta(hours=2))
    refused("ended_at", services.incident_update, incident_id=incident.pk, ended_at=now - dt.timedelta(hours=9))
    refused("started_at", services.incident_update, incident_id=incident.pk, started_at=now - dt.timedelta(hours=1))


def test_region_upsert(db):
    region, created = services.region_upsert(code="ap-south", name_en="Asia South")
    assert created and region.name_zh == "Asia South"
    region, created = services.region_upsert(code="ap-south", name_en="Asia South", name_zh="南亚", position=4)
    assert not created and region.name_zh == "南亚" and region.position == 4
    refused("code", services.region_upsert, code="Bad Code!", name_en="x")
    refused("name_en", services.region_upsert, code="ok", name_en="")

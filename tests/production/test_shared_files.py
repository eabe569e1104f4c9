"""Shared files (issue 21.1): evidence kept in an S3-compatible object store that every node reads and writes,
served only through refunddesk's own views, with today's access checks and headers.

The object store is moto's server mode, a real HTTP server on 127.0.0.1 in its own process
(tests/production/conftest.py). The local disk stays the laptop default (config.env.env_storage).
"""

from __future__ import annotations

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from refunddesk.core.services import access_token_create
from refunddesk.refunds.models import Evidence
from tests.core.test_serve import serve
from tests.factories import CustomerFactory, UserFactory
from tests.production.conftest import node_dirs
from tests.refunds.test_evidence import PDF
from tests.refunds.test_workflow import PNG


def submit_with(client: Client, *files) -> dict:
    r = client.post("/api/v1/requests", data={"order_number": "ORD-100", "reason": "technical_issue",
                                             "description": "It keeps disconnecting", "files": list(files)})
    assert r.status_code == 201, r.content
    return r.json()


@pytest.mark.django_db
def test_evidence_is_kept_in_the_object_store_and_served_through_the_checked_view(
        object_store, published_policy, customer, order, agent, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # nothing may land on this machine's disk
    _, token = access_token_create(user=customer.user)
    me = Client(headers={"Authorization": f"Bearer {token}"})
    body = submit_with(me, SimpleUploadedFile("screen.png", PNG, content_type="image/png"),
                       SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf"))
    keys = object_store.keys()
    assert len(keys) == 2 and all(k.startswith("evidence/") for k in keys), keys
    assert not any(settings.MEDIA_ROOT.rglob("*.*")) if settings.MEDIA_ROOT.exists() else True
    png, pdf = Evidence.objects.order_by("pk")

    portal = Client()
    portal.force_login(customer.user)
    shown = portal.get(f"/portal/requests/{body['id']}/evidence/{png.pk}/")
    assert shown.status_code == 200 and b"".join(shown.streaming_content) == PNG
    assert shown["Content-Type"] == "image/png"
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in shown["Content-Security-Policy"] and "default-src 'none'" in shown["Content-Security-Policy"]
    assert not shown.get("Content-Disposition", "").startswith("attachment")
    download = portal.get(f"/portal/requests/{body['id']}/evidence/{pdf.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"

    console = Client()
    console.force_login(agent)
    assert b"".join(console.get(f"/console/requests/{body['id']}/evidence/{png.pk}/").streaming_content) == PNG

    stranger = Client()
    stranger.force_login(CustomerFactory(user=UserFactory(username="someone_else")).user)
    assert stranger.get(f"/portal/requests/{body['id']}/evidence/{png.pk}/").status_code == 404

    object_store.client().delete_object(Bucket=object_store.bucket, Key=png.file.name)
    assert portal.get(f"/portal/requests/{body['id']}/evidence/{png.pk}/").status_code == 404  # lost: not a 500


@pytest.mark.django_db
def test_refused_evidence_leaves_nothing_in_the_object_store(object_store, published_policy, customer, order):
    _, token = access_token_create(user=customer.user)
    me = Client(headers={"Authorization": f"Bearer {token}"})
    good = SimpleUploadedFile("screen.png", PNG, content_type="image/png")
    script = SimpleUploadedFile("cat.png", b"#!/bin/sh\nrm -rf /\n", content_type="image/png")
    r = me.post("/api/v1/requests", data={"order_number": "ORD-100", "reason": "technical_issue",
                                          "description": "x", "files": [good, script]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "files"
    assert object_store.keys() == []


def test_the_local_disk_is_the_default_with_nothing_configured(monkeypatch):
    from config.env import env_storage

    monkeypatch.delenv("REFUNDDESK_S3_BUCKET", raising=False)
    assert env_storage() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


@pytest.mark.django_db(transaction=True)
def test_evidence_uploaded_through_one_node_is_read_through_another(
        object_store, published_policy, customer, order, tmp_path):
    """Two web nodes, each with a disk of its own (as two machines have), share the object store: a file sent
    through node A is shown through node B."""
    _, token = access_token_create(user=customer.user)
    portal = Client()
    portal.force_login(customer.user)  # a session in the database, which both nodes share
    session = {"sessionid": portal.cookies["sessionid"].value}
    common = {**object_store.env, "LOG_LEVEL": "WARNING"}
    for node in ("a", "b"):
        (tmp_path / node).mkdir()
    with serve(tmp_path / "a", fake_url="http://127.0.0.1:9", args=("--no-worker",),
               extra_env={**common, **node_dirs(tmp_path, "a")}) as node_a, \
         serve(tmp_path / "b", fake_url="http://127.0.0.1:9", args=("--no-worker",),
               extra_env={**common, **node_dirs(tmp_path, "b")}) as node_b:
        sent = requests.post(node_a.url + "/api/v1/requests", headers={"Authorization": f"Bearer {token}"},
                             data={"order_number": "ORD-100", "reason": "technical_issue", "description": "x"},
                             files=[("files", ("screen.png", PNG, "image/png"))], timeout=30)
        assert sent.status_code == 201, sent.text
        public_id = sent.json()["id"]
        evidence = Evidence.objects.get(request__public_id=public_id)
        path = f"/portal/requests/{public_id}/evidence/{evidence.pk}/"
        for node in (node_b, node_a):
            got = requests.get(node.url + path, cookies=session, timeout=30)
            assert got.status_code == 200, (node.url, got.status_code, node.output())
            assert got.content == PNG
            assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert requests.get(node_b.url + path, timeout=30, allow_redirects=False).status_code in (302, 403)
    assert object_store.keys() == [evidence.file.name]

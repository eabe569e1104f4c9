"""Links that work wherever it runs (issue 14.3): `refunddesk serve --port N` serves on N, so the links it
makes (emails, portal sessions) point at N too, whatever PORT said (make exports PORT=8000)."""

from __future__ import annotations

import pytest

from refunddesk.core.services import api_key_create
from tests.core.test_serve import serve
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_the_links_follow_the_port_serve_listens_on(tmp_path):
    CustomerFactory(external_id="cus_port", email="port@example.test")
    _, key = api_key_create(name="shop")
    with serve(tmp_path, fake_url="http://127.0.0.1:9", extra_env={"PORT": "8000", "SITE_URL": ""},
               args=("--no-worker",)) as site:
        answer = site.request("/api/v1/portal-sessions", method="POST", headers={"Authorization": f"Bearer {key}"},
                              body={"customer_id": "cus_port", "return_url": "https://shop.example/account"})
        assert answer.status == 201, answer.body[:500]
        import json

        url = json.loads(answer.body)["url"]
        assert url.startswith(f"http://127.0.0.1:{site.port}/"), url

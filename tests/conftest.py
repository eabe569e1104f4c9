from __future__ import annotations

import pytest
from django.test import Client

from refunddesk.core.services import api_key_create


@pytest.fixture
def api_key(db) -> str:
    _, raw = api_key_create(name="tests")
    return raw


@pytest.fixture
def api(api_key) -> Client:
    """A Django test client that sends the API key on every request."""
    return Client(headers={"Authorization": f"Bearer {api_key}"})

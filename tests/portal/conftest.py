from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from refunddesk.core.i18n import compile_all

compile_all()  # pages are checked in both languages: the .mo files must match the .po


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_language():
    cache.clear()
    yield
    cache.clear()
    translation.deactivate()  # the test client's requests leave their language active in this thread


@pytest.fixture
def customer_client(customer) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(customer.user)
    return client

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from refunddesk.core import roles
from refunddesk.core.i18n import compile_all

compile_all()


@pytest.fixture(autouse=True)
def _fresh_rate_limits_and_language():
    cache.clear()
    yield
    cache.clear()
    translation.deactivate()  # the test client's requests leave their language active in this thread


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def policy_owner(db):
    from tests.factories import UserFactory

    user = UserFactory(username="owner_a", is_staff=True)
    user.groups.set(Group.objects.filter(name=roles.POLICY_OWNER))
    return user

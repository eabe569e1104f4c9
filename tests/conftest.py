from __future__ import annotations

import pytest
from django.test import Client

from refunddesk.core.services import api_key_create


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (rate limits, the status page) like a fresh deployment."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language, whatever language an earlier test left active."""
    from django.utils import translation

    translation.deactivate()
    yield


@pytest.fixture
def api_key(db) -> str:
    _, raw = api_key_create(name="tests")
    return raw


@pytest.fixture
def api(api_key) -> Client:
    """A Django test client that sends the API key on every request."""
    return Client(headers={"Authorization": f"Bearer {api_key}"})


from pathlib import Path  # noqa: E402

from django.contrib.auth.models import Group  # noqa: E402
from django.utils import timezone  # noqa: E402

from refunddesk.core import roles  # noqa: E402

TEST_POLICY = Path(__file__).parent / "refunds" / "policy.yaml"


@pytest.fixture
def published_policy(db):
    from refunddesk.policies.services import policy_publish

    return policy_publish(
        document=TEST_POLICY.read_text(encoding="utf-8"),
        cases=TEST_POLICY.with_name("policy.cases.yaml").read_text(encoding="utf-8"),
        effective_at=timezone.now() - timezone.timedelta(days=400),
    )


def _staff(username: str, *role_names: str):
    from tests.factories import UserFactory

    user = UserFactory(username=username, is_staff=True, first_name=username.title())
    user.groups.set(Group.objects.filter(name__in=role_names))
    return user


@pytest.fixture
def agent(db):
    return _staff("agent_a", roles.AGENT)


@pytest.fixture
def agent2(db):
    return _staff("agent_b", roles.AGENT)


@pytest.fixture
def supervisor(db):
    return _staff("super_a", roles.SUPERVISOR, roles.AGENT)


@pytest.fixture
def supervisor2(db):
    return _staff("super_b", roles.SUPERVISOR, roles.AGENT)


@pytest.fixture
def finance(db):
    return _staff("finance_a", roles.FINANCE)


@pytest.fixture
def customer(db):
    from tests.factories import CustomerFactory, UserFactory

    user = UserFactory(username="cust_a")
    return CustomerFactory(user=user, email="cust_a@example.test", language="en")


@pytest.fixture
def order(customer):
    from tests.factories import OrderFactory, UsageFactory

    o = OrderFactory(customer=customer, external_id="ORD-100")
    UsageFactory(order=o)
    return o

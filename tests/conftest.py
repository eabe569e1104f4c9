from __future__ import annotations

import pytest
from django.test import Client

from refunddesk.core.services import api_key_create


@pytest.fixture(autouse=True, scope="session")
def _holiday_years_around_today():
    """Flows that run at the real "now" compute deadlines in this year and the next. Where the installed
    `holidays` package does not have China's official schedule for such a year (in late December, next
    year), an illustrative one (New Year's Day off, no make-up days) is recorded for the test run, so
    those tests are about the flow whatever the date. Tests about a missing year point
    REFUNDDESK_CALENDARS_DIR at an empty folder of their own."""
    import datetime as dt
    from pathlib import Path

    import holidays
    from django.conf import settings

    folder = Path(settings.REFUNDDESK_CALENDARS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    this_year = dt.date.today().year
    for year in range(this_year - 1, this_year + 3):
        path = folder / f"CN-{year}.yaml"
        if any(d.year == year for d in holidays.CN(years=year).weekend_workdays):
            path.unlink(missing_ok=True)
        elif not path.exists():
            path.write_text(f"country: CN\nyear: {year}\nsource: illustrative, for the test suite only\n"
                            f"days_off: [{{name: New Year, from: {year}-01-01}}]\n", encoding="utf-8")
    yield


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


import datetime as dt  # noqa: E402
from pathlib import Path  # noqa: E402

from django.contrib.auth.models import Group  # noqa: E402
from django.utils import timezone  # noqa: E402

from refunddesk.core import roles  # noqa: E402

TEST_POLICY = Path(__file__).parent / "refunds" / "policy.yaml"
EARLIEST = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def published_policy(db):
    from refunddesk.policies.services import policy_publish

    return policy_publish(
        document=TEST_POLICY.read_text(encoding="utf-8"),
        cases=TEST_POLICY.with_name("policy.cases.yaml").read_text(encoding="utf-8"),
        # in force before every date the tests use (fixed 2026 dates too), whenever the suite runs
        effective_at=min(timezone.now() - timezone.timedelta(days=400), EARLIEST),
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

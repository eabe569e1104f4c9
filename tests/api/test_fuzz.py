"""Schema-based fuzzing of the whole API with schemathesis (issue 15, "In CI, every run").

Every operation of /api/openapi.json is called with data schemathesis generates from the document itself
(valid and invalid), as the merchant's API key, as a customer and as a staff member (a supervisor), against
the Django app in process (WSGI). Each answer must be: no server error (5xx other than a declared 503),
a status the document declares for that route, the declared content type, and a body that matches the
declared schema. The number of examples per operation is bounded (FUZZ_EXAMPLES, default 12) so that the
three runs take a couple of minutes in `make test`; `FUZZ_EXAMPLES=200` digs deeper.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from refunddesk.core.services import access_token_create
from tests.payments.fakes.stores_fake import FakeApple
from tests.payments.test_store_notifications import configure_apple

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


def _schema():
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


schema = _schema()


@pytest.fixture(autouse=True)
def _data(db, published_policy, order, settings):
    """A published policy and a customer with an order, so that the routes have something to find; the
    store notifications configured (a 503 "not configured" is declared, but is not what is being tested). The
    requests go through Django's WSGI handler in this thread, inside the test's transaction: as Django's test
    client does, the handler must not close the database connection at the end of each request."""
    from django.core import signals
    from django.db import close_old_connections

    configure_apple(settings, FakeApple())
    settings.REFUNDDESK_GOOGLE_PUSH_TOKEN = "push-secret"
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


@schema.parametrize()
@FUZZ
def test_as_the_merchant(case, api_key):
    case.call_and_validate(headers=bearer(api_key), checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_as_a_customer(case, customer):
    _, raw = access_token_create(user=customer.user)
    case.call_and_validate(headers=bearer(raw), checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_as_staff(case, supervisor):
    _, raw = access_token_create(user=supervisor)
    case.call_and_validate(headers=bearer(raw), checks=CHECKS)

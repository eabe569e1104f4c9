"""The OpenAPI document keeps its word about errors (issue 14, "Done when"), and /api/docs needs no internet.

The test walks /api/openapi.json and, for every route, provokes the errors any route of its kind can give
(no credentials, the wrong kind of credentials, a malformed body, a body over the size limit, an unknown id):
each answer's status must be declared for that route, and its body must match the declared schema."""

from __future__ import annotations

import json
import re

import jsonschema_rs
import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from refunddesk.core.services import access_token_create

pytestmark = pytest.mark.django_db
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/openapi.json").json()


def operations(document: dict):
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            if method in METHODS:
                yield method, path, op


def check(document: dict, method: str, path: str, op: dict, response) -> None:
    """The answer's status is declared for the route and its JSON body matches the declared schema."""
    status = str(response.status_code)
    assert status in op["responses"], f"{method.upper()} {path}: {status} is not declared: {response.content[:300]}"
    content = op["responses"][status].get("content", {}).get("application/json")
    assert content, f"{method.upper()} {path}: {status} declares no JSON body"
    schema = {**content["schema"], "components": document["components"]}
    body = response.json()
    errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(body)]
    assert not errors, (method, path, status, body, errors)
    if response.status_code >= 400:
        assert set(body["error"]) >= {"code", "message", "field"}, body


def url_for(path: str, value: str = "NOPE") -> str:
    return re.sub(r"{[^}]+}", lambda m: "999999" if m.group(0) == "{incident_id}" else value, path)


def test_every_declared_error_body_is_the_error_schema(document):
    for method, path, op in operations(document):
        for status, response in op["responses"].items():
            if int(status) >= 400:
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorOut", (method, path, status, ref)
        assert "503" in op["responses"] and ("422" in op["responses"]) == bool(op.get("parameters") or
                                                                               op.get("requestBody"))


def test_every_route_answers_its_errors_as_declared(document, api_key, published_policy, customer, order, agent):
    anonymous = Client(raise_request_exception=False)
    key = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    customer_token = {"HTTP_AUTHORIZATION": f"Bearer {access_token_create(user=customer.user)[1]}"}
    staff_token = {"HTTP_AUTHORIZATION": f"Bearer {access_token_create(user=agent)[1]}"}
    seen: dict[int, int] = {}
    for method, path, op in operations(document):
        url = url_for(path)
        call = getattr(anonymous, method)
        tries = []
        if op.get("security"):
            tries.append(call(url))  # no credentials: 401
            tries.append(call(url, **{"HTTP_AUTHORIZATION": "Bearer nope"}))
        identities = [key, customer_token, staff_token] if op.get("security") else [{}]
        for who in identities:
            tries.append(call(url, **who))  # as each identity: 403 / 404 / 422 / 200 as the route says
            body = op.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                tries.append(call(url, data="{not json", content_type="application/json", **who))
                tries.append(call(url, data="[]", content_type="application/json", **who))
                tries.append(call(url, data=json.dumps({"x": "y" * 2_700_000}), content_type="application/json",
                                  **who))
            if "multipart/form-data" in body:
                tries.append(call(url, data={"unexpected": "1"}, **who))
        for response in tries:
            check(document, method, path, op, response)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
    # the walk provoked the kinds of refusal it is about
    assert {401, 403, 404, 413, 422} <= set(seen), seen


def test_api_docs_need_no_internet(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert not re.match(r"(https?:)?//", asset), f"/api/docs loads {asset} from another site"
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), f"{asset} is not among the app's static files"

"""The one NinjaAPI, mounted at /api/. Routers of each app are added here."""

from __future__ import annotations

import json
from decimal import Decimal

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.parser import Parser

from refunddesk.core.errors import ApplicationError


class ExactJsonParser(Parser):
    """JSON numbers with a fraction become Decimal, never float, so amounts stay exact."""

    def parse_body(self, request: HttpRequest):
        return json.loads(request.body, parse_float=Decimal)


api = NinjaAPI(
    title="refunddesk API",
    version="1",
    description=(
        "Feed refunddesk with your billing data, let customers apply for refunds, and let staff act. "
        "Authenticate with `Authorization: Bearer <key>`. Amounts are decimal strings in major units."
    ),
    parser=ExactJsonParser(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError):
    return api.create_response(request, {"error": exc.as_dict()}, status=exc.status_code)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError):
    return api.create_response(
        request,
        {"error": {"code": "unauthenticated", "message": "missing or unknown key; send 'Authorization: Bearer <key>'."}},
        status=401,
    )


def _register_routers() -> None:
    from refunddesk.billing.api import router as billing_router

    api.add_router("/v1/", billing_router)


_register_routers()

"""The one NinjaAPI, mounted at /api/. Routers of each app are added here."""

from __future__ import annotations

import json
from decimal import Decimal

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.parser import Parser

from refunddesk.core.errors import ApplicationError, ValidationError


class ExactJsonParser(Parser):
    """JSON numbers with a fraction become Decimal, never float, so amounts stay exact."""

    def parse_body(self, request: HttpRequest):
        if not request.body.strip() or not (request.content_type or "").endswith("json"):
            return {}  # form posts carry their fields as Form(...) parameters; a JSON schema then says what is missing
        try:
            return json.loads(request.body, parse_float=Decimal)
        except ValueError as exc:
            raise ValidationError(f"the body is not valid JSON: {exc}", field="body") from None


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
    from refunddesk.core.api import router as auth_router
    from refunddesk.policies.api import router as policy_router
    from refunddesk.refunds.api import customer_router, staff_router

    api.add_router("/v1/", billing_router)
    api.add_router("/v1/auth/", auth_router)
    api.add_router("/v1/", customer_router)
    api.add_router("/v1/staff/", staff_router)
    api.add_router("/v1/", policy_router)
    from refunddesk.payments.api import router as store_router

    api.add_router("/v1/store-notifications/", store_router)
    api.add_router("/v1/status/", "refunddesk.status.api.router")


_register_routers()

"""Reports API: the refunds ledger for finance (a merchant API key or a finance token)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from refunddesk.core import roles
from refunddesk.core.api_errors import errors
from refunddesk.core.api_fields import Day
from refunddesk.core.auth import api_key_auth, user_token_auth
from refunddesk.core.errors import PermissionDenied
from refunddesk.core.models import ApiKey
from refunddesk.reports import ledger

router = Router(auth=[api_key_auth, user_token_auth], tags=["finance"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class LedgerQuery(Schema):
    start: Day = Field(description="first day of the period (the merchant's time zone)")
    end: Day = Field(description="last day of the period, included")
    format: str = Field("csv", pattern="^(csv|xlsx)$", description="csv or xlsx")


def finance_only(request: HttpRequest) -> None:
    """A merchant API key or a finance token; 403 otherwise."""
    if isinstance(request.auth, ApiKey) or roles.has_role(request.auth, roles.FINANCE):
        return
    raise PermissionDenied(_("The ledger needs the merchant's API key or a finance token."), field="Authorization")


@router.get("/finance/ledger", response={200: None, **errors(403)},
            openapi_extra={"responses": {200: {"description": "the ledger file", "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX: {"schema": {"type": "string", "format": "binary"}}}}}})
def ledger_export(request: HttpRequest, query: Query[LedgerQuery]):
    """The refunds ledger of the days `start` to `end` (both included): one row per refund created then, with
    its gateway reference, amount (exact, major units and minor units), currency, the order's channel fee,
    status, dates, order and request. CSV or XLSX. 422 (field `end`) for a period that ends before it starts
    or is longer than three years."""
    finance_only(request)
    start, end = ledger.period_of_days(query.start, query.end)
    name = f"refunds-ledger-{query.start}-{query.end}.{query.format}"
    if query.format == "xlsx":
        response = HttpResponse(ledger.ledger_xlsx(start, end), content_type=XLSX)
    else:
        response = HttpResponse(ledger.ledger_csv(start, end), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

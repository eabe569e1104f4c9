"""Portal sessions for the merchant's product (`POST /api/v1/portal-sessions`, merchant API key).

    curl -X POST $SITE/api/v1/portal-sessions -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \
         -d '{"customer_id": "cus_1", "order_id": "ORD-1", "return_url": "https://shop.example.com/account"}'
    -> 201 {"url": "https://refunds.example.com/accounts/session/rdps_.../", "expires_at": ..., ...}

The product then sends the customer's browser to `url` (an HTTP redirect from its own "Request a refund"
button). Registered on the one NinjaAPI by refunddesk.portal.apps.PortalConfig.ready.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from refunddesk.core.api_errors import errors
from refunddesk.core.auth import api_key_auth
from refunddesk.portal import services

router = Router(auth=api_key_auth, tags=["portal sessions"])


class PortalSessionIn(Schema):
    customer_id: str = Field(..., max_length=100, description="your customer id (PUT /customers/{id})")
    order_id: str | None = Field(None, max_length=100, description="land on this order of the customer")
    return_url: str = Field(..., max_length=2000, description="where the portal's 'back' link goes")
    locale: str | None = Field(None, max_length=16, description="zh-hans or en (zh-Hans, zh-CN, en-US... too); default the customer's language")


class PortalSessionOut(Schema):
    id: int
    url: str = Field(..., description="single use; send the customer's browser here before expires_at")
    expires_at: dt.datetime
    customer_id: str
    order_id: str | None
    return_url: str
    locale: str


@router.post("/portal-sessions", response={201: PortalSessionOut, **errors(404, 409)})
def create_portal_session(request: HttpRequest, payload: PortalSessionIn):
    """A short-lived, single-use URL that signs the customer in to the refund portal, lands on the order (or
    on "my orders") and offers a way back to `return_url`. 404: unknown customer or order; 422: a bad
    return_url or locale; 409: the customer's email belongs to a staff account."""
    new = services.portal_session_create(customer_id=payload.customer_id, order_id=payload.order_id,
                                         return_url=payload.return_url, locale=payload.locale,
                                         api_key=request.auth)
    s = new.session
    return Status(201, {"id": s.pk, "url": new.url, "expires_at": s.expires_at,
                        "customer_id": s.customer.external_id, "order_id": s.order.external_id if s.order else None,
                        "return_url": s.return_url, "locale": s.locale})

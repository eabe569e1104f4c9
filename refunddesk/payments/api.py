"""Store refund notifications: Apple's App Store Server Notifications and Google Play voided purchases.

Neither route takes refunddesk credentials: Apple signs its payload (checked by Apple's
app-store-server-library), Google's Pub/Sub push carries an OIDC token (google-auth) or the shared `?token=`.
A refusal is the API's error body; a 503 makes the store deliver again.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from refunddesk.core.api_errors import errors
from refunddesk.payments import stores

router = Router(tags=["store notifications"], auth=None)

MAX_SIGNED_PAYLOAD = 100_000  # characters; Apple's signed notifications are a few kilobytes


class AppleIn(Schema):
    signedPayload: str = Field(..., min_length=1, max_length=MAX_SIGNED_PAYLOAD)  # noqa: N815 - Apple's name


class PubSubMessage(Schema):
    data: str = Field(..., max_length=MAX_SIGNED_PAYLOAD, description="base64 of the notification's JSON")
    model_config = {"extra": "allow"}  # messageId, publishTime, attributes ...


class PubSubIn(Schema):
    message: PubSubMessage
    subscription: str = Field("", max_length=500)


class PushToken(Schema):
    token: str = Field("", max_length=500, description="the shared push token, when OIDC is not configured")


class ResultOut(Schema):
    result: str = Field(..., description="what was recorded, e.g. `recorded`, `already recorded`")


@router.post("/app-store", response={200: ResultOut, **errors(401, 409, 503)})
def app_store(request: HttpRequest, payload: AppleIn):
    """An App Store Server Notification V2 (REFUND, REFUND_REVERSED; other types are acknowledged).
    401 when it does not verify, 409 when two orders hold its transaction, 503 when not configured or when
    Apple's certificate status cannot be checked (Apple delivers again)."""
    return {"result": stores.apple_notification_receive(signed_payload=payload.signedPayload)}


@router.post("/google-play", response={200: ResultOut, **errors(401, 409, 503)})
def google_play(request: HttpRequest, payload: PubSubIn, query: Query[PushToken]):
    """A Pub/Sub push of a Google Play real-time developer notification (voided purchases are recorded).
    401 without a valid OIDC token or `?token=`, 409 when two orders could be meant, 503 when not configured."""
    body: dict[str, Any] = payload.dict()
    # Pub/Sub push: an OIDC token in Authorization when the subscription authenticates, else ?token=
    return {"result": stores.google_notification_receive(
        authorization=request.headers.get("Authorization", ""), token=query.token, body=body)}

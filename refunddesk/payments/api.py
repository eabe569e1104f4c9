"""Store refund notifications: Apple's App Store Server Notifications and Google Play voided purchases."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from refunddesk.payments import stores

router = Router(tags=["store notifications"], auth=None)


class AppleIn(Schema):
    signedPayload: str  # noqa: N815 - Apple's name


class PubSubIn(Schema):
    message: dict
    subscription: str = ""


@router.post("/app-store")
def app_store(request: HttpRequest, payload: AppleIn):
    return {"result": stores.apple_notification_receive(signed_payload=payload.signedPayload)}


@router.post("/google-play")
def google_play(request: HttpRequest, payload: PubSubIn, token: str = ""):
    # Pub/Sub push: an OIDC token in Authorization when the subscription authenticates, else ?token=
    return {"result": stores.google_notification_receive(
        authorization=request.headers.get("Authorization", ""), token=token, body=payload.dict())}

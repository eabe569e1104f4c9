from __future__ import annotations

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from refunddesk.payments.gateways.errors import GatewayConfigError, WebhookRejected
from refunddesk.payments.webhooks import webhook_receive

log = logging.getLogger(__name__)


def _ack(gateway: str, ok: bool, message: str = "", *, status: int | None = None) -> HttpResponse:
    """Each gateway's documented answer: Alipay wants the text 'success'/'fail'; WeChat Pay JSON codes.
    Anything but success makes the gateway send the notification again (Stripe: any non-2xx)."""
    status = status or (200 if ok else 400)
    if gateway == "alipay":
        return HttpResponse("success" if ok else "fail", status=status, content_type="text/plain")
    if gateway == "wechat_pay":
        if ok:
            return HttpResponse(status=204)
        return JsonResponse({"code": "FAIL", "message": message[:200]}, status=status)
    return JsonResponse({"received": ok, **({"error": message} if not ok else {})}, status=status)


@csrf_exempt
@require_POST
def gateway_webhook(request: HttpRequest, gateway: str) -> HttpResponse:
    try:
        lines = webhook_receive(gateway_id=gateway, headers=dict(request.headers), body=request.body)
    except WebhookRejected as exc:
        log.warning("%s webhook refused: %s", gateway, exc)
        return _ack(gateway, False, str(exc))
    except GatewayConfigError as exc:
        log.error("%s webhook for an unconfigured gateway: %s", gateway, exc)
        return _ack(gateway, False, "gateway not configured")
    except DatabaseError:
        # nothing of the failed event was kept (its receipt neither): the gateway's retry applies it
        log.exception("%s webhook could not be applied now; the gateway will send it again", gateway)
        return _ack(gateway, False, "temporarily unable to record the event; send it again", status=503)
    for line in lines:
        log.info("%s webhook: %s", gateway, line)
    return _ack(gateway, True)

"""WeCom's callback for WeChat customer service: GET verifies the address (echostr), POST says new messages
are waiting (kf_msg_or_event). Thin: verify and decrypt (services.wechat_callback), answer."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from wechatpy.enterprise.exceptions import InvalidCorpIdException

from refunddesk.channels import services, wecom
from refunddesk.core.errors import ConfigurationError

log = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def wecom_callback(request: HttpRequest) -> HttpResponse:
    params = request.GET
    signature, timestamp, nonce = (params.get("msg_signature", ""), params.get("timestamp", ""),
                                   params.get("nonce", ""))
    try:
        if request.method == "GET":  # the address check when the callback is configured: answer the plain echostr
            echo = wecom.crypto().check_signature(signature, timestamp, nonce, params.get("echostr", ""))
            return HttpResponse(echo, content_type="text/plain")
        services.wechat_callback(signature=signature, timestamp=timestamp, nonce=nonce, body=request.body)
    except ConfigurationError:
        return HttpResponse("not configured", status=503, content_type="text/plain", headers={"Retry-After": "300"})
    except (wecom.InvalidSignatureException, InvalidCorpIdException, ValueError, SyntaxError) as exc:
        log.warning("WeCom callback refused: %s", type(exc).__name__)
        return HttpResponse("invalid signature", status=401, content_type="text/plain")
    return HttpResponse("success", content_type="text/plain")

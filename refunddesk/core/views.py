from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from refunddesk.core.health import database_check, health_report
from refunddesk.core.middleware import RETRY_AFTER_SECONDS


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


def _health_response(body: dict, *, ready: bool) -> JsonResponse:
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """GET /healthz: the full report for an operator (refunddesk.core.health.health_report): the database
    (reachable, writable), the worker's heartbeat age, the queue's depth and its oldest ready task, and
    warnings. 200 while the database is usable (warnings or not), 503 with Retry-After when it is not."""
    ready, body = health_report()
    return _health_response(body, ready=ready)


@never_cache
def healthz_ready(request: HttpRequest) -> JsonResponse:
    """GET /healthz/ready (readiness): 200 when this server can serve, i.e. the database answers and takes
    writes within half a second; otherwise 503 with Retry-After. A dead worker does not make the web
    unready (pages keep working; /healthz warns about it)."""
    database = database_check()
    ready = database["reachable"] and database["writable"]
    return _health_response({"status": "ok" if ready else "unavailable", "checks": {"database": database}},
                            ready=ready)


@never_cache
def healthz_live(request: HttpRequest) -> JsonResponse:
    """GET /healthz/live (liveness): 200 whenever this process answers HTTP; never touches the database,
    so a database outage does not get healthy web processes restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """GET /metrics: Prometheus metrics (refunddesk.core.metrics) for a scraper with the token
    (REFUNDDESK_METRICS_TOKEN, as `Authorization: Bearer ...`) or from an allowed address
    (REFUNDDESK_METRICS_ALLOW); 401/403 otherwise, 404 while neither is configured."""
    from refunddesk.core.auth import client_ip
    from refunddesk.core.metrics import exposition, metrics_access

    status = metrics_access(authorization=request.headers.get("Authorization", ""), client_address=client_ip(request))
    if status != 200:
        response = HttpResponse(status=status, content_type="text/plain")
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)

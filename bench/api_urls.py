"""refunddesk's URLs plus the ceiling of bench/api.py: a bare django-ninja endpoint, `GET /bench/bare`, behind the
same middleware in the same process."""

from django.urls import path
from ninja import NinjaAPI

from config.urls import urlpatterns as refunddesk_urls

bare = NinjaAPI(urls_namespace="bench-bare", docs_url=None, openapi_url=None)


@bare.get("/bare")
def bare_endpoint(request):
    return {"ok": True}


urlpatterns = [path("bench/", bare.urls), *refunddesk_urls]

from django.contrib import admin
from django.urls import include, path

from config.api import api
from refunddesk.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("healthz/ready", core_views.healthz_ready, name="healthz-ready"),
    path("healthz/live", core_views.healthz_live, name="healthz-live"),
    path("metrics", core_views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("accounts/", include("refunddesk.portal.account_urls")),
    path("portal/", include("refunddesk.portal.urls")),
    path("console/status/", include("refunddesk.status.console_urls")),
    path("console/", include("refunddesk.console.urls")),
    path("status/", include("refunddesk.status.urls")),
    path("policy/", include("refunddesk.policies.urls")),
    path("webhooks/", include("refunddesk.payments.urls")),
    path("channels/", include("refunddesk.channels.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

# 404, 403 and 500 are Django's own views with refunddesk/templates/; 400 (and 413) say why in the page or in JSON.
handler400 = "refunddesk.core.error_views.bad_request"

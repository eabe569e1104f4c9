"""What `make run` promises: the home page, health, the API docs and the OpenAPI document."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import call_command

from refunddesk.billing.models import Customer, Order, Plan

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/healthz", "/api/docs", "/api/openapi.json"])
def test_pages_answer(client, url):
    assert client.get(url).status_code == 200


def test_healthz_reports_the_database(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_openapi_lists_the_import_routes(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for route in ("/api/v1/customers/{customer_id}", "/api/v1/orders/{order_id}", "/api/v1/plans/{plan_id}",
                  "/api/v1/orders/{order_id}/usage", "/api/v1/support-contacts/{contact_id}"):
        assert route in paths


def test_demo_loads_once_and_is_realistic():
    out = io.StringIO()
    call_command("demo", "--customers", "120", stdout=out)
    assert "demo-staff-2026" in out.getvalue()
    assert Customer.objects.count() == 120
    orders = Order.objects.count()
    call_command("demo", stdout=io.StringIO())
    assert Order.objects.count() == orders and Customer.objects.count() == 120
    assert {p.period_days for p in Plan.objects.all()} >= {30, 90, 365}
    assert all(7 <= p.refund_window_days <= 30 for p in Plan.objects.all())
    assert set(Order.objects.values_list("sales_channel", flat=True)) >= {"web", "app_store", "google_play"}
    assert set(Order.objects.values_list("payment_method", flat=True)) >= {"card", "alipay", "wechat_pay"}
    assert set(Customer.objects.values_list("language", flat=True)) == {"zh-hans", "en"}
    assert len(set(Customer.objects.values_list("region", flat=True))) >= 4
    assert Order.objects.filter(promotional=True).exists()


def test_the_demo_status_page_has_every_customer_region_and_some_history(client):
    from refunddesk.refunds.models import RefundRequest
    from refunddesk.status.models import Incident, Region

    call_command("demo", "--customers", "120", stdout=io.StringIO())
    regions = set(Region.objects.values_list("code", flat=True))
    assert set(Customer.objects.values_list("region", flat=True)) <= regions
    assert Incident.objects.filter(ended_at__isnull=True).exists()  # one going on now
    assert Incident.objects.filter(force_majeure=True).exists()
    page = client.get("/status/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "China South" in page and "Intermittent disconnections in China East" in page
    # the long outage in China South is a fact the policy uses
    assert any(r.facts["outage"]["longest_hours"] >= 72
               for r in RefundRequest.objects.filter(reason="service_outage", customer__region="cn-south"))


def test_the_console_script_runs_django_commands():
    result = subprocess.run([sys.executable, "-m", "refunddesk", "help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("serve", "worker", "demo", "import"):
        assert command in result.stdout

"""Issue 14.2: portal sessions opened by the merchant's product (POST /api/v1/portal-sessions)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from refunddesk.portal.models import PortalSession
from tests.factories import CustomerFactory, OrderFactory
from tests.portal.signin_helpers import merchant_feeds, post

pytestmark = pytest.mark.django_db

RETURN = "https://shop.example/account?tab=billing"


def _session(api, **body):
    return post(api, "/api/v1/portal-sessions", {"customer_id": "cus_api_1", "return_url": RETURN, **body})


def test_a_session_signs_the_customer_in_on_the_order_with_a_way_back(api, settings):
    merchant_feeds(api)
    r = _session(api, order_id="ORD-API-1")
    assert r.status_code == 201, r.content
    body = r.json()
    token = body["url"].rstrip("/").rsplit("/", 1)[1]
    assert body["url"] == f"{settings.SITE_URL}/accounts/session/{token}/"
    assert body["return_url"] == RETURN and body["order_id"] == "ORD-API-1" and body["locale"] == "en"
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(minutes=4) < expires - timezone.now() <= dt.timedelta(seconds=300)
    row = PortalSession.objects.get(pk=body["id"])  # only a hash of the token is kept
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in str(row.__dict__)

    browser = Client()
    landed = browser.get(f"/accounts/session/{token}/")
    assert landed.status_code == 302 and landed["Location"] == "/portal/orders/ORD-API-1/apply/"
    page = browser.get(landed["Location"]).content.decode()
    assert 'id="return-link" href="https://shop.example/account?tab=billing"' in page
    assert "Back to shop.example" in page
    orders = browser.get("/portal/").content.decode()  # on every portal page
    assert 'id="return-link"' in orders and "ORD-API-1" in orders


def test_without_an_order_it_lands_on_my_orders_in_the_locale_asked_for(api):
    merchant_feeds(api, language="en")
    r = _session(api, locale="zh-Hans")
    assert r.status_code == 201 and r.json()["locale"] == "zh-hans" and r.json()["order_id"] is None
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    landed = browser.get(r.json()["url"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert landed["Location"] == "/portal/"
    page = browser.get("/portal/").content.decode()
    assert "我的订单" in page and "返回 shop.example" in page


def test_a_used_url_gives_a_clear_page_in_the_customers_language_and_tells_nothing(api):
    merchant_feeds(api, language="zh-hans")
    url = _session(api).json()["url"]
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    assert Client().get(path).status_code == 302
    again = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)  # e.g. from the browser's history
    text = again.content.decode()
    assert again.status_code == 410 and "已经使用过" in text
    assert "mei@shop.example" not in text and "Mei" not in text and "ORD-API-1" not in text
    assert "_auth_user_id" not in Client().session  # nobody was signed in


def test_an_expired_or_unknown_url_gives_a_clear_page(api, settings):
    merchant_feeds(api)
    settings.REFUNDDESK_PORTAL_SESSION_SECONDS = 0
    url = _session(api).json()["url"]
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    expired = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    assert expired.status_code == 410 and "has expired" in expired.content.decode()
    assert 'href="https://shop.example/account?tab=billing"' in expired.content.decode()
    unknown = Client(HTTP_ACCEPT_LANGUAGE="en").get("/accounts/session/rdps_nothing-like-this/")
    assert unknown.status_code == 410 and "is not valid" in unknown.content.decode()
    assert "shop.example" not in unknown.content.decode()


@pytest.mark.parametrize("return_url, message", [
    ("javascript:alert(1)", "absolute http(s) address"),
    ("//shop.example/account", "absolute http(s) address"),
    ("ftp://shop.example/", "absolute http(s) address"),
    ("https://user:pw@shop.example/", "user name or password"),
    ("https://shop.example/a b", "without spaces"),
    ("", "is required"),
])
def test_a_bad_return_url_is_refused_naming_the_field(api, return_url, message):
    merchant_feeds(api)
    r = _session(api, return_url=return_url)
    assert r.status_code == 422, r.content
    assert r.json()["error"]["field"] == "return_url" and message in r.json()["error"]["message"]
    assert not PortalSession.objects.exists()


def test_plain_http_and_foreign_hosts_when_the_site_is_public(api, settings):
    merchant_feeds(api)
    settings.SITE_URL = "https://refunds.example.com"
    assert _session(api, return_url="http://shop.example/").json()["error"]["message"] == "must use https."
    assert _session(api, return_url="http://127.0.0.1:3000/back").status_code == 201  # a merchant testing locally
    settings.REFUNDDESK_PORTAL_RETURN_HOSTS = [".shop.example"]
    assert _session(api, return_url="https://www.shop.example/").status_code == 201
    r = _session(api, return_url="https://evil.example/")
    assert r.status_code == 422 and "REFUNDDESK_PORTAL_RETURN_HOSTS" in r.json()["error"]["message"]


def test_unknown_customer_another_customers_order_bad_locale_and_no_key(api):
    merchant_feeds(api)
    other = OrderFactory(customer=CustomerFactory(), external_id="ORD-OTHER")
    r = _session(api, customer_id="cus_nobody")
    assert r.status_code == 404 and r.json()["error"]["field"] == "customer_id"
    r = _session(api, order_id=other.external_id)
    assert r.status_code == 404 and r.json()["error"]["field"] == "order_id"
    r = _session(api, locale="fr")
    assert r.status_code == 422 and r.json()["error"]["field"] == "locale"
    anonymous = Client().post("/api/v1/portal-sessions", data={"customer_id": "cus_api_1", "return_url": RETURN},
                              content_type="application/json")
    assert anonymous.status_code == 401
    customer_token = Client().post("/api/v1/portal-sessions", data={"customer_id": "cus_api_1", "return_url": RETURN},
                                   content_type="application/json", HTTP_AUTHORIZATION="Bearer rdt_not_a_merchant")
    assert customer_token.status_code == 401
    assert not PortalSession.objects.exists()


def test_a_session_replaces_whoever_was_signed_in(api, customer_client):
    merchant_feeds(api)
    url = _session(api).json()["url"]
    customer_client.get("/" + url.split("://", 1)[1].split("/", 1)[1])
    assert "ORD-API-1" in customer_client.get("/portal/").content.decode()
    customer_client.post("/accounts/logout/")
    assert 'id="return-link"' not in Client().get("/").content.decode()

"""Issue 14, "done when": a customer created through the billing API only signs in - through a portal session
URL, and separately through an emailed one-time link - applies within the trial and is refunded by the worker
through the sandbox gateway, and every link emailed points at the server's real address (it opens)."""

from __future__ import annotations

import re

import pytest
import requests
from django.conf import settings
from django.core import mail
from django.test import Client

from refunddesk.payments.models import Refund
from refunddesk.refunds.models import RefundRequest
from tests.portal.signin_helpers import links_in, merchant_feeds, post, publish_trial_policy
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def real_site(live_server, settings):
    """SITE_URL is the address this test's server really listens on (as PORT makes it for `make run`)."""
    settings.SITE_URL = live_server.url
    return live_server.url


def _apply_and_get_refunded(client: Client, order_id: str) -> RefundRequest:
    page = client.get(f"/portal/orders/{order_id}/apply/")
    assert page.status_code == 200
    r = client.post(f"/portal/orders/{order_id}/apply/", {"reason": "changed_mind", "description": "Not for me."})
    assert r.status_code == 302, r.content.decode()[:2000]
    req = RefundRequest.objects.get(order__external_id=order_id)
    assert req.policy_clause == "new-user-trial" and req.status == "refunding"
    run_tasks()  # the worker: the sandbox gateway pays it, the emails go out
    req.refresh_from_db()
    assert req.status == "refunded"
    assert Refund.objects.get(request=req).status == "succeeded"
    assert "Refunded" in client.get(f"/portal/requests/{req.public_id}/").content.decode()
    return req


def _every_emailed_link_opens(site: str) -> None:
    """Every link emailed points at the real server; those that are not used-up sign-in links open there."""
    for link in [link for m in mail.outbox for link in links_in(m.body)]:
        assert link.startswith(site + "/"), link
        if "/accounts/link/" not in link:
            assert requests.get(link, timeout=30, allow_redirects=False).status_code in (200, 302), link


def test_through_a_portal_session_url(api, real_site, published_policy):
    publish_trial_policy()
    merchant_feeds(api)
    r = post(api, "/api/v1/portal-sessions", {"customer_id": "cus_api_1", "order_id": "ORD-API-1",
                                              "return_url": "https://shop.example/account"})
    assert r.status_code == 201, r.content
    url = r.json()["url"]
    assert url.startswith(real_site + "/accounts/session/")
    # the URL opens on the real server: signed in, on the order's page, with the way back
    with requests.Session() as real_browser:
        page = real_browser.get(url, timeout=30)
        assert page.status_code == 200 and page.url == real_site + "/portal/orders/ORD-API-1/apply/"
        assert 'href="https://shop.example/account"' in page.text
    url = post(api, "/api/v1/portal-sessions", {"customer_id": "cus_api_1", "order_id": "ORD-API-1",
                                                "return_url": "https://shop.example/account"}).json()["url"]
    browser = Client()
    landed = browser.get(url.removeprefix(real_site))
    assert landed.status_code == 302 and landed["Location"] == "/portal/orders/ORD-API-1/apply/"
    _apply_and_get_refunded(browser, "ORD-API-1")
    assert {m.to[0] for m in mail.outbox} == {"mei@shop.example"}
    assert any("Your refund of" in m.subject for m in mail.outbox)
    _every_emailed_link_opens(real_site)


def test_through_an_emailed_one_time_link(api, real_site, published_policy):
    publish_trial_policy()
    merchant_feeds(api)
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    answer = browser.post("/accounts/link/", {"email": "MEI@shop.example"})
    assert "Check your email" in answer.content.decode()
    run_tasks()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["mei@shop.example"]
    link = re.search(r"https?://\S+/accounts/link/\S+/", mail.outbox[0].body).group(0)
    assert link.startswith(settings.SITE_URL)
    assert requests.get(link, timeout=30).status_code == 200  # the confirmation page, on the real server
    assert browser.post(link.removeprefix(real_site)).status_code == 302
    _apply_and_get_refunded(browser, "ORD-API-1")
    _every_emailed_link_opens(real_site)

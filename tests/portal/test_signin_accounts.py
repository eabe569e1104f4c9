"""Issue 14.1 (customers fed by the billing API sign in) and 15.5 (sign-in abuse: django-axes lockout per account
and per client address, failures only; the link form tells nothing about which addresses have accounts)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.core import mail
from django.test import Client
from django_tasks_db.models import DBTaskResult

from refunddesk.billing.models import Customer
from refunddesk.core.models import User
from tests.factories import CustomerFactory, UserFactory
from tests.portal.signin_helpers import merchant_feeds, put
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-pass-2026"


def token(email=None, password=PASSWORD, *, username=None, client=None, **headers):
    body = {"password": password, **({"email": email} if email else {}), **({"username": username} if username else {})}
    return (client or Client()).post("/api/v1/auth/token", data=json.dumps(body), content_type="application/json",
                                     **headers)


def sign_in(login, password=PASSWORD, client=None, **headers):
    client = client or Client(HTTP_ACCEPT_LANGUAGE="en")
    return client, client.post("/accounts/login/", {"login": login, "password": password}, **headers)


# --- 14.1 -------------------------------------------------------------------------------------------


def test_a_password_set_through_the_billing_api_signs_in_and_is_never_echoed(api):
    body = merchant_feeds(api, password=PASSWORD)
    r = put(api, "/api/v1/customers/cus_api_1", {"email": "mei@shop.example", "region": "cn-east", "language": "en",
                                                 "password": PASSWORD})
    assert r.status_code == 200 and "password" not in r.json() and PASSWORD not in r.content.decode()
    assert body["customer_id"] == "cus_api_1"
    user = Customer.objects.get(external_id="cus_api_1").user
    assert user.password.startswith(("md5$", "pbkdf2", "argon2")) and PASSWORD not in user.password
    client, page = sign_in("mei@shop.example")
    assert page.status_code == 302 and page["Location"] == "/portal/"
    assert "ORD-API-1" in client.get("/portal/").content.decode()
    r = token("Mei@Shop.example")
    assert r.status_code == 200 and r.json()["customer"] is True
    mine = Client(HTTP_AUTHORIZATION=f"Bearer {r.json()['token']}").get("/api/v1/requests")
    assert mine.status_code == 200


def test_the_same_password_sent_again_keeps_the_customer_signed_in(api):
    merchant_feeds(api, password=PASSWORD)
    client, _ = sign_in("mei@shop.example")
    merchant_feeds(api, password=PASSWORD)  # the billing system pushes the same customer again
    assert client.get("/portal/").status_code == 200


def test_a_weak_or_empty_password_is_refused_naming_the_field(api):
    r = put(api, "/api/v1/customers/cus_x", {"email": "x@shop.example", "region": "cn-east", "password": "123"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"
    assert not Customer.objects.filter(external_id="cus_x").exists()  # nothing written
    r = put(api, "/api/v1/customers/cus_x", {"email": "x@shop.example", "region": "cn-east", "password": ""})
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"


def test_every_customer_on_file_gets_a_link_and_an_account_on_first_use(api):
    merchant_feeds(api)  # no password, no account yet
    assert Customer.objects.get(external_id="cus_api_1").user is None
    Client().post("/accounts/link/", {"email": "mei@shop.example"})
    run_tasks()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["mei@shop.example"]
    path = re.search(r"https?://[^/\s]+(/accounts/link/\S+/)", mail.outbox[0].body).group(1)
    browser = Client()
    assert browser.post(path).status_code == 302
    assert "ORD-API-1" in browser.get("/portal/").content.decode()
    user = Customer.objects.get(external_id="cus_api_1").user
    assert user.email == "mei@shop.example" and not user.has_usable_password()


def test_an_email_change_through_the_billing_api_moves_the_sign_in(api):
    merchant_feeds(api, password=PASSWORD)
    user = Customer.objects.get(external_id="cus_api_1").user
    r = put(api, "/api/v1/customers/cus_api_1", {"email": "mei.new@shop.example", "region": "cn-east"})
    assert r.status_code == 200
    user.refresh_from_db()
    assert user.email == "mei.new@shop.example" and user.username == "mei.new@shop.example"
    assert sign_in("mei.new@shop.example")[1].status_code == 302
    assert sign_in("mei@shop.example")[1].status_code == 200  # the old address no longer signs in
    Client().post("/accounts/link/", {"email": "mei.new@shop.example"})
    run_tasks()
    assert [m.to for m in mail.outbox] == [["mei.new@shop.example"]]


def test_a_linked_customers_new_email_gets_the_link(db):
    """One more of the kind: a customer whose account was linked before (as the demo's are) changes address."""
    from refunddesk.billing.services import customer_upsert

    user = UserFactory(username="lin", email="lin@old.example")
    CustomerFactory(external_id="cus_lin", user=user, email="lin@old.example")
    customer_upsert(external_id="cus_lin", email="lin@new.example", region="cn-east")
    Client().post("/accounts/link/", {"email": "lin@new.example"})
    run_tasks()
    assert [m.to for m in mail.outbox] == [["lin@new.example"]]


def test_one_email_is_one_account(api):
    merchant_feeds(api)
    r = put(api, "/api/v1/customers/cus_api_2", {"email": "MEI@shop.example", "region": "cn-east"})
    assert r.status_code == 409 and r.json()["error"]["field"] == "email"
    staff = UserFactory(username="ann", email="ann@shop.example", is_staff=True)
    r = put(api, "/api/v1/customers/cus_api_3", {"email": "ann@shop.example", "region": "cn-east",
                                                 "password": PASSWORD})
    assert r.status_code == 409 and r.json()["error"]["field"] == "email"
    staff.refresh_from_db()
    assert not Customer.objects.filter(user=staff).exists()


def test_the_token_takes_an_email_or_a_username(customer):
    assert token("cust_a@example.test", "pw-for-tests").status_code == 200
    assert token(username="cust_a", password="pw-for-tests").status_code == 200
    assert token("cust_a@example.test", "nope").status_code == 401
    missing = token(password="pw-for-tests")
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "email"


# --- 15.5 -------------------------------------------------------------------------------------------


def test_successful_sign_ins_are_not_counted(customer):
    """Behind a proxy every customer has the proxy's address: 25 sign-ins in a row all work."""
    for _ in range(25):
        assert sign_in("cust_a@example.test", "pw-for-tests")[1].status_code == 302
    for _ in range(15):
        assert token("cust_a@example.test", "pw-for-tests").status_code == 200


def test_twelve_wrong_passwords_lock_the_account_whichever_login_and_address(customer, settings):
    settings.REFUNDDESK_CLIENT_IP_HEADER = "X-Forwarded-For"
    for n in range(12):
        login = "cust_a" if n % 2 else "CUST_A@example.test"
        sign_in(login, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n + 1}")
    _, page = sign_in("cust_a@example.test", "pw-for-tests", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert page.status_code == 429 and "Too many failed sign-in attempts" in page.content.decode()
    r = token("cust_a@example.test", "pw-for-tests", HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    other = UserFactory(username="other_b")
    assert sign_in("other_b@example.test", "pw-for-tests", HTTP_X_FORWARDED_FOR="198.51.100.9")[1].status_code == 302
    assert other.pk


def test_failures_from_one_address_lock_that_address_not_the_others(db, settings):
    settings.REFUNDDESK_CLIENT_IP_HEADER = "X-Forwarded-For"
    users = [UserFactory(username=f"guess{n}") for n in range(11)]
    for user in users[:10]:  # one wrong password each, all from one address (a spoofed left part changes nothing)
        token(user.email, "wrong", HTTP_X_FORWARDED_FOR=f"10.9.9.{user.pk % 250}, 203.0.113.66")
    r = token(users[10].email, "pw-for-tests", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.66")
    assert r.status_code == 429
    assert token(users[10].email, "pw-for-tests", HTTP_X_FORWARDED_FOR="203.0.113.67").status_code == 200


def test_the_link_form_tells_nothing_and_logs_no_address(customer, caplog):
    """Same answer and the same work (one task queued) for an account, a customer without one, and nobody."""
    CustomerFactory(email="on-file@example.test")
    pages = []
    with caplog.at_level(logging.DEBUG):
        for address in ("cust_a@example.test", "on-file@example.test", "nobody@example.test"):
            before = DBTaskResult.objects.count()
            page = Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/link/", {"email": address})
            assert DBTaskResult.objects.count() == before + 1
            pages.append(page.content.decode().replace(address, "ADDRESS").replace(
                page.cookies.get("csrftoken").value if page.cookies.get("csrftoken") else "", ""))
            assert page.status_code == 200
        run_tasks()
    assert re.sub(r'value="[^"]+"', "", pages[0]) == re.sub(r'value="[^"]+"', "", pages[2])
    assert re.sub(r'value="[^"]+"', "", pages[1]) == re.sub(r'value="[^"]+"', "", pages[2])
    assert sorted(m.to[0] for m in mail.outbox) == ["cust_a@example.test", "on-file@example.test"]
    assert not [r for r in caplog.records if "nobody@example.test" in r.getMessage()]
    assert User.objects.filter(email="on-file@example.test").count() == 1
    assert not User.objects.filter(email="nobody@example.test").exists()

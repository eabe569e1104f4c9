"""Store refunds are recorded, never made: a signed App Store REFUND notification and a Google Play
voided purchase each record one store refund against the right order; forgeries change nothing.

Apple's notifications are verified by Apple's app-store-server-library against a chain built here the way
Apple's is (tests/payments/fakes/stores_fake.py); Google's push tokens by google-auth against certificates
served from 127.0.0.1. Nothing of refunddesk or of the libraries is mocked."""

from __future__ import annotations

import base64
import json
import socket
import time
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.db import connection
from django.test import Client

from refunddesk.billing.models import Order
from refunddesk.payments.models import Refund
from tests.factories import OrderFactory
from tests.payments.fakes.stores_fake import APP_APPLE_ID, BUNDLE_ID, FakeApple, FakeGoogleCerts, make_cert

pytestmark = pytest.mark.django_db

APPLE_URL = "/api/v1/store-notifications/app-store"
GOOGLE_URL = "/api/v1/store-notifications/google-play"


def configure_apple(settings, fake: FakeApple, *, environment: str = "Production") -> None:
    settings.REFUNDDESK_APPLE_ROOT_CERTS = fake.root_pem
    settings.REFUNDDESK_APPLE_BUNDLE_ID = BUNDLE_ID
    settings.REFUNDDESK_APPLE_APP_APPLE_ID = str(APP_APPLE_ID)
    settings.REFUNDDESK_APPLE_ENVIRONMENT = environment
    # Apple's library would ask Apple's OCSP responder (over the internet) whether the chain was revoked; the
    # fake chain has no responder. Turned off through the library's own parameter, enable_online_checks=False.
    settings.REFUNDDESK_APPLE_ONLINE_CHECKS = False


@pytest.fixture
def apple(settings):
    fake = FakeApple()
    configure_apple(settings, fake)
    return fake


def post(url, body, **headers):
    return Client(raise_request_exception=False).post(url, data=json.dumps(body), content_type="application/json",
                                                      headers=headers)


def apple_order(ref: str, **kwargs) -> Order:
    return OrderFactory(sales_channel="app_store", gateway="app_store", payment_method="other",
                        gateway_charge_ref=ref, **kwargs)


def google_order(ref: str, **kwargs) -> Order:
    return OrderFactory(sales_channel="google_play", gateway="google_play", payment_method="other",
                        gateway_charge_ref=ref, **kwargs)


def refused(response, status: int, *words: str) -> dict:
    """The answer is a 4xx/5xx JSON error whose message names what is wrong."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    for word in words:
        assert word in error["message"], error
    return error


# --- App Store: the refund is recorded once, on the right order, for the right amount ---------------------


def test_an_app_store_refund_is_recorded_once(apple):
    order = apple_order("2000000812345678")
    signed = apple.refund("2000000812345678", price_milli=30000, currency="CNY")
    answers = [post(APPLE_URL, {"signedPayload": signed}) for _ in range(2)]  # Apple delivers again
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json()["result"] for a in answers] == ["recorded", "already recorded"]
    refund = Refund.objects.get()
    assert (refund.origin, refund.amount_minor, refund.currency, refund.status) == ("store", 3000, "CNY", "succeeded")
    assert refund.order == order
    order.refresh_from_db()
    assert order.refunded_minor == 3000 and order.service_ended_at is not None


def test_a_renewal_refund_is_booked_on_the_renewal_not_on_the_first_purchase(apple):
    """Apple: transactionId = the renewal, originalTransactionId = the first purchase. Old code matched either
    and took the first order found: the first purchase was refunded and its service ended."""
    first = apple_order("1000000000000001")
    renewal = apple_order("1000000000000002")
    r = post(APPLE_URL, {"signedPayload": apple.refund("1000000000000002", original="1000000000000001")})
    assert r.status_code == 200 and r.json()["result"] == "recorded"
    assert Refund.objects.get().order == renewal
    first.refresh_from_db()
    renewal.refresh_from_db()
    assert (first.refunded_minor, first.service_ended_at) == (0, None)
    assert renewal.refunded_minor == 3000 and renewal.service_ended_at is not None


def test_a_renewal_refund_falls_back_to_the_first_purchase_only_when_it_is_the_only_order(apple):
    """A merchant that records the subscription as one order, under its original transaction."""
    only = apple_order("1000000000000001")
    r = post(APPLE_URL, {"signedPayload": apple.refund("1000000000000009", original="1000000000000001")})
    assert r.status_code == 200 and r.json()["result"] == "recorded"
    refund = Refund.objects.get()
    assert refund.order == only and refund.gateway_ref == "apple-1000000000000009"


def test_two_orders_with_the_refunded_transaction_are_refused_not_guessed(apple):
    apple_order("1000000000000002")
    apple_order("1000000000000002")
    r = post(APPLE_URL, {"signedPayload": apple.refund("1000000000000002", original="1000000000000001")})
    refused(r, 409, "1000000000000002")
    assert not Refund.objects.exists()


def test_a_refund_for_a_transaction_we_do_not_hold_changes_nothing(apple):
    apple_order("1000000000000001")
    r = post(APPLE_URL, {"signedPayload": apple.refund("3000000000000002", original="3000000000000001")})
    assert r.status_code == 200 and r.json()["result"] == "unknown transaction; logged"
    assert not Refund.objects.exists()


def test_other_notification_types_record_nothing(apple):
    apple_order("2000000812345678")
    signed = apple.notification(apple.transaction("2000000812345678"), kind="DID_RENEW")
    r = post(APPLE_URL, {"signedPayload": signed})
    assert r.status_code == 200 and r.json()["result"] == "DID_RENEW: nothing to record"
    assert not Refund.objects.exists()


@pytest.mark.parametrize(("price_milli", "currency", "percentage", "order_minor", "order_currency", "booked"), [
    (29990, "CNY", None, 2999, "CNY", 2999),  # full: 29990 milliunits = 29.99
    (30000, "CNY", 50000, 3000, "CNY", 1500),  # REFUND_PRORATED 50 %: 15.00, not the whole order
    (29990, "CNY", 33333, 2999, "CNY", 1000),  # 29.99 x 33.333 % = 9.9965667 -> 10.00, rounded once, half-up
    (480000, "JPY", None, 480, "JPY", 480),  # JPY has no minor unit: 480 yen, not 48000
    (1234, "KWD", None, 1234, "KWD", 1234),  # KWD has three decimals: 1.234
    (40000, "CNY", None, 3000, "CNY", 3000),  # Apple's price above the order: never more than is left
    (4990, "USD", 50000, 3000, "CNY", 1500),  # Apple's currency is not the order's: the order's amount x share
])
def test_the_amount_is_apple_price_in_milliunits_times_the_refunded_share(
        apple, price_milli, currency, percentage, order_minor, order_currency, booked):
    order = apple_order("2000000812345678", amount_minor=order_minor, currency=order_currency)
    extra = {} if percentage is None else {"revocationType": "REFUND_PRORATED", "revocationPercentage": percentage}
    signed = apple.refund("2000000812345678", price_milli=price_milli, currency=currency, **extra)
    assert post(APPLE_URL, {"signedPayload": signed}).status_code == 200
    refund = Refund.objects.get()
    assert (refund.amount_minor, refund.currency) == (booked, order_currency)
    order.refresh_from_db()
    assert order.refunded_minor == booked


def test_a_refund_never_books_more_than_is_left_on_the_order(apple):
    order = apple_order("2000000812345678")
    Order.objects.filter(pk=order.pk).update(refunded_minor=2000)  # 20.00 of 30.00 already refunded
    assert post(APPLE_URL, {"signedPayload": apple.refund("2000000812345678", price_milli=30000)}).status_code == 200
    assert Refund.objects.get().amount_minor == 1000
    order.refresh_from_db()
    assert order.refunded_minor == 3000


def test_apple_milliunits_convert_exactly_both_ways_for_every_currency():
    """Apple's price unit is converted in one place (stores.apple_milliunits_to_money and its inverse)."""
    from refunddesk.core.money import Money, _currencies, exponent
    from refunddesk.payments.stores import apple_milliunits_to_money, money_to_apple_milliunits

    for currency in sorted(_currencies()):
        if exponent(currency) > 3:  # finer than a milliunit (CLF, UYW): only whole milliunits convert
            assert money_to_apple_milliunits(Money(10, currency)) == 1
            with pytest.raises(Exception, match="whole number of milliunits"):
                money_to_apple_milliunits(Money(1, currency))
            continue
        for minor in (0, 1, 7, 99, 1999, 123456789, 10**15 + 1):
            money = Money(minor, currency)
            milli = money_to_apple_milliunits(money)
            assert milli == minor * 10 ** (3 - exponent(currency))
            assert apple_milliunits_to_money(milli, currency) == money
    assert apple_milliunits_to_money(29990, "USD") == Money(2999, "USD")
    assert apple_milliunits_to_money(480000, "JPY") == Money(480, "JPY")
    assert apple_milliunits_to_money(9995, "USD") == Money(1000, "USD")  # 9.995: half-up, once
    assert apple_milliunits_to_money(Decimal("9994.999"), "USD") == Money(999, "USD")
    for bad in (29.99, True, -1):
        with pytest.raises(Exception, match="milliunits"):
            apple_milliunits_to_money(bad, "USD")


# --- App Store: what Apple's library refuses -------------------------------------------------------------


def test_a_forged_app_store_notification_changes_nothing(apple):
    apple_order("2000000812345678")
    apple.signer = ec.generate_private_key(ec.SECP256R1())  # right chain, wrong key
    refused(post(APPLE_URL, {"signedPayload": apple.refund("2000000812345678")}), 401, "signature")
    other = FakeApple()  # a whole chain that does not lead to the configured root
    refused(post(APPLE_URL, {"signedPayload": other.refund("2000000812345678")}), 401, "chain")
    refused(post(APPLE_URL, {"signedPayload": "not.a.jws"}), 401)
    assert not Refund.objects.exists()


def test_a_leaf_that_is_an_ordinary_end_entity_certificate_is_refused(settings):
    """Signed by an end-entity certificate of the right root and intermediate, but without Apple's leaf
    marker 1.2.840.113635.100.6.11.1: the old hand-written chain check accepted it."""
    fake = FakeApple(leaf_marker=False)
    configure_apple(settings, fake)
    apple_order("2000000812345678")
    error = refused(post(APPLE_URL, {"signedPayload": fake.refund("2000000812345678")}), 401,
                    "1.2.840.113635.100.6.11.1")
    assert error["code"] == "apple_signature_invalid" and error["field"] == "signedPayload"
    assert not Refund.objects.exists()


def test_an_intermediate_without_apple_marker_is_refused(settings):
    fake = FakeApple(intermediate_marker=False)
    configure_apple(settings, fake)
    apple_order("2000000812345678")
    refused(post(APPLE_URL, {"signedPayload": fake.refund("2000000812345678")}), 401, "1.2.840.113635.100.6.2.1")
    assert not Refund.objects.exists()


def test_a_leaf_signed_by_an_ordinary_end_entity_certificate_is_refused(settings):
    """The "intermediate" carries Apple's marker but is an end-entity certificate (not a CA): whoever holds
    such a certificate's key could sign leaves. Old code never looked at basicConstraints."""
    fake = FakeApple(intermediate_is_ca=False)
    configure_apple(settings, fake)
    apple_order("2000000812345678")
    refused(post(APPLE_URL, {"signedPayload": fake.refund("2000000812345678")}), 401, "does not verify")
    # and a longer chain, [leaf, end-entity, intermediate, root], as the old code walked any length
    good = FakeApple()
    configure_apple(settings, good)
    end_entity_key = ec.generate_private_key(ec.SECP256R1())
    end_entity = make_cert("Someone's end-entity certificate", end_entity_key, issuer=good.mid,
                           issuer_key=good.mid_key, ca=False)
    forged_leaf_key = ec.generate_private_key(ec.SECP256R1())
    forged_leaf = make_cert("Forged signer", forged_leaf_key, issuer=end_entity, issuer_key=end_entity_key, ca=False)
    good.chain, good.signer = [forged_leaf, end_entity, good.mid, good.root], forged_leaf_key
    refused(post(APPLE_URL, {"signedPayload": good.refund("2000000812345678")}), 401, "exactly three")
    assert not Refund.objects.exists()


def test_a_notification_for_another_app_or_environment_is_refused(apple):
    apple_order("2000000812345678")
    other_app = apple.notification(apple.transaction("2000000812345678", bundle_id="com.example.other"),
                                   bundle_id="com.example.other")
    error = refused(post(APPLE_URL, {"signedPayload": other_app}), 401, "another app", "REFUNDDESK_APPLE_BUNDLE_ID")
    assert error["code"] == "apple_wrong_app"
    wrong_app_id = apple.notification(apple.transaction("2000000812345678"), app_apple_id=999)
    refused(post(APPLE_URL, {"signedPayload": wrong_app_id}), 401, "another app")
    sandbox = apple.notification(apple.transaction("2000000812345678", environment="Sandbox"), environment="Sandbox")
    error = refused(post(APPLE_URL, {"signedPayload": sandbox}), 401, "environment", "Production")
    assert error["code"] == "apple_wrong_environment"
    # the notification is for this app, the transaction inside it is not
    mixed = apple.notification(apple.transaction("2000000812345678", bundle_id="com.example.other"))
    error = refused(post(APPLE_URL, {"signedPayload": mixed}), 401, "another app")
    assert error["field"] == "signedTransactionInfo"
    assert not Refund.objects.exists()


def test_a_sandbox_desk_takes_sandbox_notifications(settings):
    fake = FakeApple()
    configure_apple(settings, fake, environment="Sandbox")
    settings.REFUNDDESK_APPLE_APP_APPLE_ID = ""  # not required outside Production
    apple_order("2000000812345678")
    signed = fake.notification(fake.transaction("2000000812345678", environment="Sandbox"), environment="Sandbox",
                               app_apple_id=None)
    assert post(APPLE_URL, {"signedPayload": signed}).status_code == 200
    assert Refund.objects.count() == 1


@pytest.mark.parametrize(("setting", "value", "words"), [
    ("REFUNDDESK_APPLE_ROOT_CERTS", "", ("REFUNDDESK_APPLE_ROOT_CERTS",)),
    ("REFUNDDESK_APPLE_ROOT_CERTS", "/nonexistent/AppleRootCA-G3.cer", ("REFUNDDESK_APPLE_ROOT_CERTS",)),
    ("REFUNDDESK_APPLE_BUNDLE_ID", "", ("REFUNDDESK_APPLE_BUNDLE_ID",)),
    ("REFUNDDESK_APPLE_ENVIRONMENT", "Xcode", ("Production or Sandbox",)),
    ("REFUNDDESK_APPLE_APP_APPLE_ID", "", ("REFUNDDESK_APPLE_APP_APPLE_ID", "Production")),
    ("REFUNDDESK_APPLE_APP_APPLE_ID", "abc", ("REFUNDDESK_APPLE_APP_APPLE_ID",)),
])
def test_app_store_notifications_are_refused_clearly_until_configured(apple, settings, setting, value, words):
    apple_order("2000000812345678")
    setattr(settings, setting, value)
    error = refused(post(APPLE_URL, {"signedPayload": apple.refund("2000000812345678")}), 503, *words)
    assert error["code"] == "not_configured"
    assert not Refund.objects.exists()


def test_root_certificates_may_be_files_in_pem_or_der(apple, settings, tmp_path):
    from cryptography.hazmat.primitives import serialization

    der = tmp_path / "AppleRootCA-G3.cer"
    der.write_bytes(apple.root.public_bytes(serialization.Encoding.DER))
    other = tmp_path / "other.pem"
    other.write_text(FakeApple().root_pem)
    settings.REFUNDDESK_APPLE_ROOT_CERTS = f"{other},{der}"
    apple_order("2000000812345678")
    assert post(APPLE_URL, {"signedPayload": apple.refund("2000000812345678")}).status_code == 200


def test_an_unreachable_ocsp_responder_is_answered_503_so_apple_retries(settings):
    """With online checks on (the default), Apple's library asks the OCSP responder named in the chain; when it
    cannot be reached the notification is not lost: 503, Apple delivers it again."""
    with socket.socket() as unused:  # nobody listens there: connection refused
        unused.bind(("127.0.0.1", 0))
        fake = FakeApple(ocsp_url=f"http://127.0.0.1:{unused.getsockname()[1]}/ocsp")
        configure_apple(settings, fake)
        settings.REFUNDDESK_APPLE_ONLINE_CHECKS = True
        apple_order("2000000812345678")
        error = refused(post(APPLE_URL, {"signedPayload": fake.refund("2000000812345678")}), 503, "OCSP")
    assert error["code"] == "store_unavailable"
    assert not Refund.objects.exists()


# --- retries: a delivery that failed halfway applies on the next one ----------------------------------


class TransientOrderUpdateFailure:
    """A real database failure in the middle of recording: every UPDATE of an order raises, as a lost
    connection or a serialization failure would, after the refund row was written in the same transaction."""

    def __enter__(self):
        table = Order._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("CREATE FUNCTION rd_transient_failure() RETURNS trigger LANGUAGE plpgsql AS "
                               "$$ BEGIN RAISE EXCEPTION 'transient failure'; END $$")
                cursor.execute(f"CREATE TRIGGER rd_transient_failure BEFORE UPDATE ON {table} "
                               "FOR EACH ROW EXECUTE FUNCTION rd_transient_failure()")
            else:
                cursor.execute(f"CREATE TRIGGER rd_transient_failure BEFORE UPDATE ON {table} "
                               "BEGIN SELECT RAISE(ABORT, 'transient failure'); END")
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER rd_transient_failure{' ON ' + Order._meta.db_table if connection.vendor == 'postgresql' else ''}")
            if connection.vendor == "postgresql":
                cursor.execute("DROP FUNCTION rd_transient_failure()")


def test_an_app_store_delivery_that_failed_halfway_is_applied_when_apple_retries(apple):
    order = apple_order("2000000812345678")
    signed = apple.refund("2000000812345678")
    with TransientOrderUpdateFailure():
        assert post(APPLE_URL, {"signedPayload": signed}).status_code == 500
    assert not Refund.objects.exists()
    order.refresh_from_db()
    assert order.refunded_minor == 0
    assert post(APPLE_URL, {"signedPayload": signed}).json()["result"] == "recorded"
    assert post(APPLE_URL, {"signedPayload": signed}).json()["result"] == "already recorded"
    order.refresh_from_db()
    assert Refund.objects.count() == 1 and order.refunded_minor == 3000


# --- Google Play -------------------------------------------------------------------------------------------


def push(voided: dict | None = None, **data) -> dict:
    payload = {"version": "1.0", "packageName": "com.example.vpn", "eventTimeMillis": "1790000000000", **data}
    if voided is not None:
        payload["voidedPurchaseNotification"] = {"purchaseToken": "tok-1", "productType": 1, "refundType": 1,
                                                 **voided}
    return {"message": {"data": base64.b64encode(json.dumps(payload).encode()).decode(), "messageId": "1"},
            "subscription": "projects/x/subscriptions/y"}


@pytest.fixture
def push_token(settings):
    settings.REFUNDDESK_GOOGLE_PUSH_TOKEN = "push-secret"
    return f"{GOOGLE_URL}?token=push-secret"


def test_a_google_play_voided_purchase_is_recorded_once(push_token):
    order = google_order("GPA.1234-5678-9012-34567")
    message = push({"orderId": "GPA.1234-5678-9012-34567"})
    refused(post(f"{GOOGLE_URL}?token=wrong", message), 401, "push token")
    assert not Refund.objects.exists()
    assert post(push_token, message).json()["result"] == "recorded"
    assert post(push_token, message).json()["result"] == "already recorded"
    refund = Refund.objects.get()
    assert refund.amount_minor == order.amount_minor and refund.origin == "store"


def test_a_quantity_based_partial_refund_is_not_booked_as_a_full_one(push_token):
    """refundType 2 (quantity-based partial refund of a one-time product) comes without an amount: old code
    booked the whole order and ended its service."""
    order = google_order("GPA.3333-4444-5555-66666")
    r = post(push_token, push({"orderId": "GPA.3333-4444-5555-66666", "productType": 2, "refundType": 2}))
    assert r.status_code == 200 and "not recorded" in r.json()["result"]
    assert not Refund.objects.exists()
    order.refresh_from_db()
    assert (order.refunded_minor, order.service_ended_at) == (0, None)


def test_a_voided_renewal_is_booked_on_the_renewal(push_token):
    first = google_order("GPA.1234-5678-9012-34567")
    renewal = google_order("GPA.1234-5678-9012-34567..1")
    assert post(push_token, push({"orderId": "GPA.1234-5678-9012-34567..1"})).status_code == 200
    assert Refund.objects.get().order == renewal
    first.refresh_from_db()
    assert first.refunded_minor == 0


def test_a_voided_renewal_falls_back_to_the_first_order_when_it_is_the_only_one(push_token):
    """A merchant that records the subscription once, under its first order id (or its purchase token): the
    old code matched only the exact order id and lost the refund of every renewal."""
    first = google_order("GPA.1234-5678-9012-34567")
    assert post(push_token, push({"orderId": "GPA.1234-5678-9012-34567..1"})).json()["result"] == "recorded"
    assert Refund.objects.get().order == first
    by_token = google_order("tok-2")
    assert post(push_token, push({"orderId": "GPA.9999-5678-9012-34567..4", "purchaseToken": "tok-2"})
                ).json()["result"] == "recorded"
    assert Refund.objects.get(order=by_token).gateway_ref == "gplay-GPA.9999-5678-9012-34567..4-1"


def test_a_voided_purchase_is_never_matched_through_an_empty_reference(push_token):
    google_order("")  # an order imported without its Google order id
    r = post(push_token, push({"orderId": "..3", "purchaseToken": ""}))
    assert r.status_code == 200 and r.json()["result"] == "unknown order; logged"
    assert not Refund.objects.exists()


def test_a_voided_renewal_we_do_not_hold_yet_is_not_booked_on_another_order(push_token):
    """The merchant imports renewals as their own orders (..0 is here) and ..1 is not imported yet: booking it
    on the first order would refund the wrong period. 409: Pub/Sub delivers it again after the import."""
    first = google_order("GPA.1234-5678-9012-34567")
    google_order("GPA.1234-5678-9012-34567..0")
    message = push({"orderId": "GPA.1234-5678-9012-34567..1"})
    refused(post(push_token, message), 409, "GPA.1234-5678-9012-34567..1")
    assert not Refund.objects.exists()
    first.refresh_from_db()
    assert first.refunded_minor == 0
    late = google_order("GPA.1234-5678-9012-34567..1")  # the billing import catches up; Pub/Sub retries
    assert post(push_token, message).json()["result"] == "recorded"
    assert Refund.objects.get().order == late


def test_a_google_delivery_that_failed_halfway_is_applied_when_pubsub_retries(push_token):
    order = google_order("GPA.1234-5678-9012-34567")
    message = push({"orderId": "GPA.1234-5678-9012-34567"})
    with TransientOrderUpdateFailure():
        assert post(push_token, message).status_code == 500
    assert not Refund.objects.exists()
    assert post(push_token, message).json()["result"] == "recorded"
    assert post(push_token, message).json()["result"] == "already recorded"
    order.refresh_from_db()
    assert Refund.objects.count() == 1 and order.refunded_minor == order.amount_minor


def test_google_notifications_are_refused_clearly_until_configured(settings):
    settings.REFUNDDESK_GOOGLE_PUSH_TOKEN = ""
    error = refused(post(f"{GOOGLE_URL}?token=", push({"orderId": "GPA.1"})), 503, "REFUNDDESK_GOOGLE_PUSH_TOKEN",
                    "REFUNDDESK_GOOGLE_PUSH_AUDIENCE")
    assert error["code"] == "not_configured"
    settings.REFUNDDESK_GOOGLE_PUSH_AUDIENCE = "https://desk.example/api/v1/store-notifications/google-play"
    refused(post(GOOGLE_URL, push({"orderId": "GPA.1"})), 503, "REFUNDDESK_GOOGLE_PUSH_SERVICE_ACCOUNTS")


# --- Google Play: Pub/Sub push OIDC tokens, verified by google-auth ---------------------------------------

AUDIENCE = "https://desk.example/api/v1/store-notifications/google-play"
PUSHER = "rtdn-push@merchant-project.iam.gserviceaccount.com"


@pytest.fixture
def google(settings):
    with FakeGoogleCerts() as fake:
        settings.REFUNDDESK_GOOGLE_PUSH_AUDIENCE = AUDIENCE
        settings.REFUNDDESK_GOOGLE_PUSH_SERVICE_ACCOUNTS = [PUSHER]
        settings.REFUNDDESK_GOOGLE_OIDC_CERTS_URL = fake.url
        settings.REFUNDDESK_GOOGLE_PUSH_TOKEN = "push-secret"  # set, but not accepted while OIDC is configured
        yield fake


def test_a_push_with_a_good_oidc_token_is_accepted(google):
    order = google_order("GPA.1234-5678-9012-34567")
    message = push({"orderId": "GPA.1234-5678-9012-34567"})
    token = google.token(audience=AUDIENCE, email=PUSHER)
    r = post(GOOGLE_URL, message, Authorization=f"Bearer {token}")
    assert r.status_code == 200 and r.json()["result"] == "recorded", r.content
    assert Refund.objects.get().order == order and google.requests >= 1


@pytest.mark.parametrize(("case", "words"), [
    ("missing", ("Authorization: Bearer",)),
    ("shared token only", ("Authorization: Bearer",)),
    ("other key", ("OIDC token was refused",)),
    ("expired", ("OIDC token was refused", "expired")),
    ("wrong audience", ("OIDC token was refused", "audience")),
    ("other service account", ("someone@evil-project.iam.gserviceaccount.com",)),
    ("unverified email", ("verified service account",)),
    ("other issuer", ("https://evil.example", "not Google")),
    ("garbage", ("OIDC token was refused",)),
])
def test_a_push_with_a_bad_oidc_token_is_refused(google, case, words):
    google_order("GPA.1234-5678-9012-34567")
    message = push({"orderId": "GPA.1234-5678-9012-34567"})
    token = {
        "other key": lambda: google.token(audience=AUDIENCE, email=PUSHER,
                                          key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "expired": lambda: google.token(audience=AUDIENCE, email=PUSHER, issued=time.time() - 7200),
        "wrong audience": lambda: google.token(audience="https://other.example/push", email=PUSHER),
        "other service account": lambda: google.token(audience=AUDIENCE,
                                                      email="someone@evil-project.iam.gserviceaccount.com"),
        "unverified email": lambda: google.token(audience=AUDIENCE, email=PUSHER, email_verified=False),
        "other issuer": lambda: google.token(audience=AUDIENCE, email=PUSHER, issuer="https://evil.example"),
        "garbage": lambda: "a.b.c",
    }.get(case, lambda: None)()
    url = f"{GOOGLE_URL}?token=push-secret" if case == "shared token only" else GOOGLE_URL
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    error = refused(post(url, message, **headers), 401, *words)
    assert error["field"] == "Authorization"
    assert not Refund.objects.exists()


def test_a_push_is_answered_503_when_google_certificates_cannot_be_fetched(google, settings):
    token = google.token(audience=AUDIENCE, email=PUSHER)
    settings.REFUNDDESK_GOOGLE_OIDC_CERTS_URL = google.url.replace("/oauth2/v1/certs", "/nowhere")
    refused(post(GOOGLE_URL, push({"orderId": "GPA.1"}), Authorization=f"Bearer {token}"), 503, "certificates")
    with socket.socket() as unused:  # nobody listens there: connection refused
        unused.bind(("127.0.0.1", 0))
        settings.REFUNDDESK_GOOGLE_OIDC_CERTS_URL = f"http://127.0.0.1:{unused.getsockname()[1]}/oauth2/v1/certs"
    refused(post(GOOGLE_URL, push({"orderId": "GPA.1"}), Authorization=f"Bearer {token}"), 503, "certificates")
    assert not Refund.objects.exists()


def test_a_refund_the_app_store_reverses_is_taken_off_the_order(apple, settings):
    """Issue 13.2, the App Store's own way: REFUND_REVERSED (a refund undone after a dispute) is a refund that
    failed after succeeding. Before, it was acknowledged and ignored: the order kept the money as refunded."""
    from django.test import Client as WebClient

    from tests.factories import UserFactory

    order = apple_order("2000000812345999")
    assert post(APPLE_URL, {"signedPayload": apple.refund("2000000812345999")}).json()["result"] == "recorded"
    reversal = apple.notification(apple.transaction("2000000812345999"), kind="REFUND_REVERSED")
    answers = [post(APPLE_URL, {"signedPayload": reversal}) for _ in range(2)]  # Apple delivers again
    assert [a.json()["result"] for a in answers] == ["refund reversed", "no refund of that transaction to reverse; logged"]
    order.refresh_from_db()
    assert order.refunded_minor == 0
    refund = Refund.objects.get()
    assert refund.status == "failed" and refund.reversed_at is not None
    from django.contrib.auth.models import Group

    from refunddesk.core import roles

    finance = UserFactory(username="fin", is_staff=True)
    finance.groups.set(Group.objects.filter(name=roles.FINANCE))
    client = WebClient()
    client.force_login(finance)
    assert refund.idempotency_key in client.get("/console/finance/").content.decode()

"""Store refunds are recorded, never made: a signed App Store REFUND notification and a Google Play
voided purchase each record one store refund against the order; forgeries change nothing."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from django.test import Client

from refunddesk.payments.models import Refund
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _cert(subject: str, key, issuer_name: str, issuer_key, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


class FakeApple:
    """Signs notifications like Apple does: ES256 JWS with an x5c chain (leaf, intermediate, root)."""

    def __init__(self):
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.mid_key = ec.generate_private_key(ec.SECP256R1())
        self.leaf_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _cert("Fake Apple Root", self.root_key, "Fake Apple Root", self.root_key, True)
        self.mid = _cert("Fake Apple WWDR", self.mid_key, "Fake Apple Root", self.root_key, True)
        self.leaf = _cert("Fake Apple Signer", self.leaf_key, "Fake Apple WWDR", self.mid_key, False)

    @property
    def root_pem(self) -> str:
        return self.root.public_bytes(serialization.Encoding.PEM).decode()

    def jws(self, payload: dict, key=None) -> str:
        enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
        x5c = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
               for c in (self.leaf, self.mid, self.root)]
        head = enc(json.dumps({"alg": "ES256", "x5c": x5c}).encode())
        body = enc(json.dumps(payload).encode())
        r, s = decode_dss_signature((key or self.leaf_key).sign(f"{head}.{body}".encode(),
                                                               ec.ECDSA(hashes.SHA256())))
        return f"{head}.{body}.{enc(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def refund_notification(self, transaction_id: str, price_milli: int, currency: str, key=None) -> str:
        info = self.jws({"transactionId": transaction_id, "originalTransactionId": transaction_id,
                         "price": price_milli, "currency": currency, "revocationDate": 1790000000000})
        return self.jws({"notificationType": "REFUND", "data": {"signedTransactionInfo": info}}, key=key)


@pytest.fixture
def apple(settings):
    fake = FakeApple()
    settings.REFUNDDESK_APPLE_ROOT_CERT = fake.root_pem
    return fake


def post(url, body):
    return Client().post(url, data=json.dumps(body), content_type="application/json")


def test_an_app_store_refund_is_recorded_once(apple):
    order = OrderFactory(sales_channel="app_store", gateway="app_store", payment_method="card",
                         gateway_charge_ref="2000000812345678")
    signed = apple.refund_notification("2000000812345678", 30000, "CNY")
    for _ in range(2):  # Apple retries deliveries: the second changes nothing
        r = post("/api/v1/store-notifications/app-store", {"signedPayload": signed})
        assert r.status_code == 200, r.content
    refund = Refund.objects.get()
    assert refund.origin == "store" and refund.amount_minor == 3000 and refund.status == "succeeded"
    order.refresh_from_db()
    assert order.refunded_minor == 3000


def test_a_forged_app_store_notification_changes_nothing(apple):
    OrderFactory(sales_channel="app_store", gateway="app_store", gateway_charge_ref="2000000812345678")
    forged = apple.refund_notification("2000000812345678", 30000, "CNY", key=ec.generate_private_key(ec.SECP256R1()))
    r = post("/api/v1/store-notifications/app-store", {"signedPayload": forged})
    assert r.status_code == 401 and not Refund.objects.exists()
    other = FakeApple()  # a whole chain that does not lead to the configured root
    r = post("/api/v1/store-notifications/app-store",
             {"signedPayload": other.refund_notification("2000000812345678", 30000, "CNY")})
    assert r.status_code == 401 and not Refund.objects.exists()


def test_a_google_play_voided_purchase_is_recorded(settings):
    settings.REFUNDDESK_GOOGLE_PUSH_TOKEN = "push-secret"
    order = OrderFactory(sales_channel="google_play", gateway="google_play", gateway_charge_ref="GPA.1234-5678")
    data = {"version": "1.0", "packageName": "com.example.vpn", "eventTimeMillis": "1790000000000",
            "voidedPurchaseNotification": {"purchaseToken": "tok", "orderId": "GPA.1234-5678", "productType": 1,
                                           "refundType": 1}}
    message = {"message": {"data": base64.b64encode(json.dumps(data).encode()).decode(), "messageId": "1"},
               "subscription": "projects/x/subscriptions/y"}
    assert post("/api/v1/store-notifications/google-play?token=wrong", message).status_code == 401
    assert not Refund.objects.exists()
    assert post("/api/v1/store-notifications/google-play?token=push-secret", message).status_code == 200
    assert post("/api/v1/store-notifications/google-play?token=push-secret", message).status_code == 200
    assert Refund.objects.get().amount_minor == order.amount_minor

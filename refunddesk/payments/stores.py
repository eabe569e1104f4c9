"""App Store and Google Play refunds: never made here, only recorded when the store reports them.

Apple: App Store Server Notifications V2 post `{"signedPayload": JWS}`. The JWS header carries the
certificate chain (x5c); we verify the chain up to the Apple root certificate the merchant configures
(REFUNDDESK_APPLE_ROOT_CERT, PEM; Apple Root CA - G3), then the ES256 signature, and only then read
the payload. A REFUND notification's signedTransactionInfo (itself a JWS, verified the same way)
names the transaction; the order is the one whose gateway charge reference is that transactionId
(or originalTransactionId).

Google: Real-time developer notifications arrive as Pub/Sub push messages. The push endpoint is
protected by a shared token in its address (REFUNDDESK_GOOGLE_PUSH_TOKEN, compared in constant time),
as Google's push-subscription guide suggests for endpoints that do not verify OIDC tokens. A
`voidedPurchaseNotification` names the order (orderId) whose refund Google made.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import logging
from decimal import Decimal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings
from django.utils import timezone

from refunddesk.billing.models import Order
from refunddesk.core.errors import AuthenticationFailed, ValidationError
from refunddesk.core.money import Money
from refunddesk.payments.models import Origin
from refunddesk.payments.services import refund_record_external

log = logging.getLogger(__name__)


def _b64url(data: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        raise AuthenticationFailed("malformed JWS (base64).") from None


def _verify_cert(child: x509.Certificate, parent: x509.Certificate) -> None:
    key = parent.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(child.signature_hash_algorithm))
        else:
            from cryptography.hazmat.primitives.asymmetric import padding

            key.verify(child.signature, child.tbs_certificate_bytes, padding.PKCS1v15(),
                       child.signature_hash_algorithm)
    except InvalidSignature:
        raise AuthenticationFailed("the JWS certificate chain does not verify.") from None


def apple_verify_jws(token: str, *, root_pem: str | None = None, now: dt.datetime | None = None) -> dict:
    """Verify an Apple JWS (x5c chain to the configured root, ES256) and return its payload."""
    root_pem = root_pem or settings.REFUNDDESK_APPLE_ROOT_CERT
    if not root_pem:
        raise AuthenticationFailed("REFUNDDESK_APPLE_ROOT_CERT is not set; App Store notifications cannot be trusted.")
    parts = (token or "").split(".")
    if len(parts) != 3:
        raise AuthenticationFailed("not a JWS (three dot-separated parts expected).")
    header = json.loads(_b64url(parts[0]) or b"{}")
    if header.get("alg") != "ES256" or not header.get("x5c"):
        raise AuthenticationFailed("App Store JWS must be ES256 with an x5c chain.")
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
    root = x509.load_pem_x509_certificate(root_pem.encode())
    moment = now or timezone.now()
    for cert in chain:
        if not (cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc):
            raise AuthenticationFailed("a certificate of the JWS chain is expired or not yet valid.")
    for child, parent in zip(chain, chain[1:], strict=False):
        _verify_cert(child, parent)
    last = chain[-1]
    if last.fingerprint(hashes.SHA256()) != root.fingerprint(hashes.SHA256()):
        _verify_cert(last, root)  # the chain may stop below the root
    signature = _b64url(parts[2])
    if len(signature) != 64:
        raise AuthenticationFailed("ES256 signature must be 64 bytes.")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        chain[0].public_key().verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AuthenticationFailed("the App Store notification's signature does not verify.") from None
    return json.loads(_b64url(parts[1]))


def apple_notification_receive(*, signed_payload: str) -> str:
    payload = apple_verify_jws(signed_payload)
    kind = payload.get("notificationType")
    if kind != "REFUND":
        return f"{kind}: nothing to record"
    info = apple_verify_jws(payload.get("data", {}).get("signedTransactionInfo", ""))
    refs = [str(info.get(k)) for k in ("transactionId", "originalTransactionId") if info.get(k)]
    order = Order.objects.filter(gateway="app_store", gateway_charge_ref__in=refs).first()
    if order is None:
        log.warning("App Store refund for unknown transaction %s; ignored", refs)
        return "unknown transaction; logged"
    amount = order.refundable_remaining
    if info.get("price") is not None and info.get("currency") == order.currency:
        amount = Money.rounded(Decimal(int(info["price"])) / 1000, order.currency).min(order.refundable_remaining)
    recorded = refund_record_external(
        gateway="app_store", charge_ref=order.gateway_charge_ref, gateway_ref=f"apple-{info.get('transactionId')}",
        amount=amount, origin=Origin.STORE,
    )
    return "recorded" if recorded else "already recorded"


def google_notification_receive(*, token: str, body: dict) -> str:
    expected = settings.REFUNDDESK_GOOGLE_PUSH_TOKEN
    if not expected or not hmac.compare_digest(expected, token or ""):
        raise AuthenticationFailed("wrong or missing push token.")
    try:
        data = json.loads(base64.b64decode(body["message"]["data"]))
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ValidationError("not a Pub/Sub push message with base64 JSON data.", field="message") from None
    voided = data.get("voidedPurchaseNotification")
    if not voided:
        return "not a voided purchase: nothing to record"
    order = Order.objects.filter(gateway="google_play", gateway_charge_ref=voided.get("orderId")).first()
    if order is None:
        log.warning("Google Play voided purchase for unknown order %s; ignored", voided.get("orderId"))
        return "unknown order; logged"
    recorded = refund_record_external(
        gateway="google_play", charge_ref=order.gateway_charge_ref,
        gateway_ref=f"gplay-{voided.get('orderId')}-{voided.get('refundType', 1)}",
        amount=order.refundable_remaining, origin=Origin.STORE,
    )
    return "recorded" if recorded else "already recorded"

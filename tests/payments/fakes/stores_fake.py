"""Fakes for the two stores, built from real data: an Apple signing chain made with `cryptography` the way
Apple's is made (and checked by Apple's own library), and Google's OIDC token certificates served over HTTP
from 127.0.0.1.

Apple (App Store Server Notifications V2): `signedPayload` is an ES256 JWS whose header carries
`x5c` = [leaf, intermediate, root] (base64 DER). The root is a self-signed CA; the intermediate is a CA
issued by it and carries Apple's marker extension 1.2.840.113635.100.6.2.1 (as Apple Worldwide Developer
Relations CA - G6 does); the leaf is an end-entity certificate issued by the intermediate that carries
1.2.840.113635.100.6.11.1 (as Apple's "Prod ECC Mac App Store and iTunes Store Receipt Signing" does). Both
markers hold an ASN.1 NULL, as in Apple's certificates. Key identifiers and key usages are present because
Apple's library verifies the chain with OpenSSL's X509_STRICT flag.

Google (Pub/Sub push with authentication): the push carries `Authorization: Bearer <JWT>`, an RS256 ID token
from accounts.google.com for the subscription's service account, with `aud` the configured audience; its
key is published as a map {key id: x509 PEM}, the format of https://www.googleapis.com/oauth2/v1/certs.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

APPLE_LEAF_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.11.1")
APPLE_INTERMEDIATE_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.2.1")
ASN1_NULL = b"\x05\x00"
BUNDLE_ID = "com.example.vpn"
APP_APPLE_ID = 1234567890


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fake Apple Inc."),
                      x509.NameAttribute(NameOID.COUNTRY_NAME, "US")])


def make_cert(subject: str, key, *, issuer: x509.Certificate | None = None, issuer_key=None, ca: bool,
              marker: x509.ObjectIdentifier | None = None, days: int = 365,
              ocsp_url: str | None = None) -> x509.Certificate:
    """A certificate as a CA would issue it: `issuer`/`issuer_key` None means self-signed."""
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer is not None else _name(subject))
        .public_key(public).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=not ca, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False),
            critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            (issuer_key or key).public_key()), critical=False)
    )
    if marker is not None:
        builder = builder.add_extension(x509.UnrecognizedExtension(marker, ASN1_NULL), critical=False)
    if ocsp_url is not None:  # where to ask whether it was revoked, as Apple's certificates say
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _der_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _ec_key():
    return ec.generate_private_key(ec.SECP256R1())


class FakeApple:
    """Signs App Store Server Notifications V2 the way Apple does. `chain` and `signer` can be swapped for
    the forgeries the tests try."""

    def __init__(self, *, leaf_marker: bool = True, intermediate_marker: bool = True,
                 intermediate_is_ca: bool = True, ocsp_url: str | None = None):
        self.root_key, self.mid_key, self.leaf_key = _ec_key(), _ec_key(), _ec_key()
        self.root = make_cert("Fake Apple Root CA - G3", self.root_key, ca=True)
        self.mid = make_cert("Fake Apple Worldwide Developer Relations CA - G6", self.mid_key, issuer=self.root,
                             issuer_key=self.root_key, ca=intermediate_is_ca,
                             marker=APPLE_INTERMEDIATE_OID if intermediate_marker else None, ocsp_url=ocsp_url)
        self.leaf = make_cert("Fake Prod ECC Mac App Store and iTunes Store Receipt Signing", self.leaf_key,
                              issuer=self.mid, issuer_key=self.mid_key, ca=False,
                              marker=APPLE_LEAF_OID if leaf_marker else None, ocsp_url=ocsp_url)
        self.chain = [self.leaf, self.mid, self.root]
        self.signer = self.leaf_key

    @property
    def root_pem(self) -> str:
        return self.root.public_bytes(serialization.Encoding.PEM).decode()

    def jws(self, payload: dict) -> str:
        return jwt.encode(payload, self.signer, algorithm="ES256",
                          headers={"x5c": [_der_b64(c) for c in self.chain]})

    def transaction(self, transaction_id: str, *, original: str | None = None, price_milli: int = 30000,
                    currency: str = "CNY", bundle_id: str = BUNDLE_ID, environment: str = "Production",
                    **extra) -> str:
        now_ms = int(time.time() * 1000)
        return self.jws({
            "transactionId": transaction_id, "originalTransactionId": original or transaction_id,
            "webOrderLineItemId": str(uuid.uuid4().int)[:16], "bundleId": bundle_id,
            "productId": f"{bundle_id}.monthly", "subscriptionGroupIdentifier": "21000000",
            "purchaseDate": now_ms - 86_400_000, "originalPurchaseDate": now_ms - 40 * 86_400_000,
            "expiresDate": now_ms + 29 * 86_400_000, "quantity": 1, "type": "Auto-Renewable Subscription",
            "inAppOwnershipType": "PURCHASED", "signedDate": now_ms, "environment": environment,
            "transactionReason": "RENEWAL" if original and original != transaction_id else "PURCHASE",
            "storefront": "CHN", "storefrontId": "143465", "price": price_milli, "currency": currency,
            "revocationDate": now_ms, "revocationReason": 0, **extra,
        })

    def notification(self, signed_transaction: str, *, kind: str = "REFUND", bundle_id: str = BUNDLE_ID,
                     environment: str = "Production", app_apple_id: int | None = APP_APPLE_ID) -> str:
        data = {"bundleId": bundle_id, "bundleVersion": "1", "environment": environment,
                "signedTransactionInfo": signed_transaction, "status": 1}
        if app_apple_id is not None:
            data["appAppleId"] = app_apple_id
        return self.jws({"notificationType": kind, "notificationUUID": str(uuid.uuid4()), "version": "2.0",
                         "signedDate": int(time.time() * 1000), "data": data})

    def refund(self, transaction_id: str, **kwargs) -> str:
        """A REFUND notification for one transaction (keyword arguments go to `transaction`)."""
        return self.notification(self.transaction(transaction_id, **kwargs))


class FakeGoogleCerts:
    """Google's token-signing certificates on http://127.0.0.1:<port>/oauth2/v1/certs ({kid: PEM}) and ID
    tokens signed like the ones Pub/Sub push sends. Use as a context manager (starts and stops the server)."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        cert = make_cert("accounts.google.com", self.key, ca=False)
        self.certs = {self.kid: cert.public_bytes(serialization.Encoding.PEM).decode()}
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                outer.requests += 1
                body = json.dumps(outer.certs).encode()
                self.send_response(200 if self.path == "/oauth2/v1/certs" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/oauth2/v1/certs"

    def __enter__(self) -> FakeGoogleCerts:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def token(self, *, audience: str, email: str, key=None, issued: float | None = None, lifetime: int = 3600,
              issuer: str = "https://accounts.google.com", email_verified: bool = True) -> str:
        issued = time.time() if issued is None else issued
        claims = {"iss": issuer, "aud": audience, "azp": "1122334455", "sub": "1122334455", "email": email,
                  "email_verified": email_verified, "iat": int(issued), "exp": int(issued) + lifetime}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})

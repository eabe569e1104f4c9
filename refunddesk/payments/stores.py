"""App Store and Google Play refunds: never made here, only recorded when the store reports them.

Apple: App Store Server Notifications V2 post `{"signedPayload": JWS}`. The JWS and the transaction inside
it (`data.signedTransactionInfo`, a JWS too) are verified by Apple's own app-store-server-library
(`SignedDataVerifier`): ES256 over an x5c chain of exactly leaf, intermediate and root that must lead to
one of the configured Apple roots (REFUNDDESK_APPLE_ROOT_CERTS), with Apple's marker extensions on the
leaf (OID 1.2.840.113635.100.6.11.1) and on the intermediate (1.2.840.113635.100.6.2.1), the issuer of
each certificate a CA, optionally Apple's OCSP check (REFUNDDESK_APPLE_ONLINE_CHECKS), then the bundle id
(REFUNDDESK_APPLE_BUNDLE_ID), the app's Apple ID in Production (REFUNDDESK_APPLE_APP_APPLE_ID) and the
environment (REFUNDDESK_APPLE_ENVIRONMENT). Nothing of the payload is read before that.

Which order an App Store REFUND belongs to (`apple_order_for`). Apple names the refunded transaction
(`transactionId`: for a renewal, the renewal's own id) and the subscription's first purchase
(`originalTransactionId`). Only app_store orders are considered:
  1. the order whose charge reference is `transactionId`;
  2. only when no order has it: the order whose charge reference is `originalTransactionId`, when exactly
     one order has it (a merchant that records a subscription as one order under its original
     transaction). A merchant that imports each renewal as its own order must import it before Apple
     reports its refund, or it is booked on the first purchase (Apple cannot tell us how orders are grouped);
  3. two orders with the same reference at step 1 or 2: refused (409), nothing booked, Apple retries;
  4. none: logged and answered 200 (not one of ours).

Google: Real-time developer notifications arrive as Pub/Sub push messages. With OIDC configured
(REFUNDDESK_GOOGLE_PUSH_AUDIENCE and REFUNDDESK_GOOGLE_PUSH_SERVICE_ACCOUNTS), the push's
`Authorization: Bearer <JWT>` is verified with google-auth (`google.oauth2.id_token.verify_token`: signature
against Google's certificates at REFUNDDESK_GOOGLE_OIDC_CERTS_URL, expiry, audience), then the issuer is
Google and the token's verified email is one of the allowed service accounts (Google's "Authenticate push
subscriptions" guide). Without OIDC, a shared token in the address (REFUNDDESK_GOOGLE_PUSH_TOKEN, compared in
constant time) is the alternative. A `voidedPurchaseNotification` names the Google order (`orderId`; a
subscription's renewals are the first order's id plus `..0`, `..1`, ...) and the `purchaseToken`
(`google_order_for`): the order with that exact order id; else, only when the subscription's one order of
ours is its first order (or the order recorded under the purchase token), that order; several orders of
that subscription but none with the exact id: 409 (the renewal is not imported yet: Pub/Sub retries).
`refundType` 1 is a full refund: what is left on the order is booked. `refundType` 2 (a quantity-based
partial refund of a one-time product) carries no amount: nothing is booked, the answer says so.

Retries and repeats: the stores deliver again until they get a 2xx. The refund is recorded by
`refund_record_external`, which checks for an earlier record of the same store refund and creates it in one
transaction, so a delivery that failed halfway leaves nothing behind and its retry applies it, and a repeat
of a recorded one changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import logging
from decimal import Decimal, InvalidOperation
from pathlib import Path

import google.auth.exceptions
import google.auth.transport.requests
from appstoreserverlibrary.models.Environment import Environment
from appstoreserverlibrary.signed_data_verifier import (
    SignedDataVerifier,
    VerificationException,
    VerificationStatus,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db.models import Q
from google.oauth2 import id_token
from jwt.exceptions import PyJWTError

from refunddesk.billing.models import Order
from refunddesk.core.errors import (
    ApplicationError,
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    ValidationError,
)
from refunddesk.core.money import Money
from refunddesk.payments.models import Origin, Refund
from refunddesk.payments.services import refund_record_external, refund_record_external_reversal

log = logging.getLogger(__name__)


class StoreUnavailable(ApplicationError):
    """A service of the store that verification needs (Apple's OCSP responder, Google's token certificates)
    did not answer. 503: the store delivers the notification again later."""

    status_code = 503
    code = "store_unavailable"


# --- Apple: amounts ------------------------------------------------------------------------------------

APPLE_PRICE_EXPONENT = 3  # Apple's `price` is in milliunits of `currency`: 29990 USD = 29.99 USD
APPLE_FULL_PERCENTAGE = 100_000  # Apple's `revocationPercentage` is in milliunits of a percent: 100000 = 100 %


def apple_milliunits_to_money(milliunits: int | Decimal, currency: str) -> Money:
    """Apple's `price` (an integer of milliunits of `currency`, e.g. 29990 with "USD" = 29.99 USD) as Money in
    minor units. Exact (Decimal, never float); a value finer than the currency's minor unit (9995 USD
    milliunits, or a prorated share) is rounded once, half-up, as everywhere in refunddesk. The one place the
    App Store's unit is turned into ours; `money_to_apple_milliunits` is the other direction.

    Raises ValidationError for a float, a bool or a negative value, a value too large for exact decimal
    arithmetic (28 digits), or an unknown currency.
    Source: https://developer.apple.com/documentation/appstoreserverapi/price"""
    if isinstance(milliunits, bool) or not isinstance(milliunits, int | Decimal) or milliunits < 0:
        raise ValidationError(f"the App Store price {milliunits!r} is not a whole, non-negative number of milliunits.",
                              field="price")
    try:
        return Money.rounded(Decimal(milliunits).scaleb(-APPLE_PRICE_EXPONENT), currency)
    except InvalidOperation:
        raise ValidationError(f"the App Store price {milliunits!r} is too large to be a price.", field="price") from None


def money_to_apple_milliunits(money: Money) -> int:
    """Money as Apple's `price` unit: an integer of milliunits of its currency (29.99 USD -> 29990, 480 JPY ->
    480000, 1.234 KWD -> 1234). Raises ValidationError for a currency whose minor unit is finer than a
    milliunit (4 decimals: CLF, UYW) when the amount is not a whole number of milliunits."""
    scaled = money.amount.scaleb(APPLE_PRICE_EXPONENT)
    if scaled != scaled.to_integral_value():
        raise ValidationError(f"{money} is not a whole number of milliunits of {money.currency}.", field="amount")
    return int(scaled)


def apple_refund_amount(*, order: Order, price: int | None, currency: str | None,
                        revocation_percentage: int | None) -> Money:
    """What an App Store REFUND of one transaction gives back, in the order's currency, never more than is
    left on the order (`order.refundable_remaining`).

    `price` (milliunits of `currency`) is the transaction's price; `revocation_percentage` (milliunits of a
    percent, 100000 = all; absent = all) is the share Apple refunded (REFUND_PRORATED). When Apple's currency
    is the order's, the amount is price x share; otherwise (or without a price) the order's amount x share.
    Raises ValidationError for a share outside 0..100 %.
    Source: https://developer.apple.com/documentation/appstoreservernotifications/revocationpercentage"""
    if revocation_percentage is None:
        revocation_percentage = APPLE_FULL_PERCENTAGE
    if (isinstance(revocation_percentage, bool) or not isinstance(revocation_percentage, int)
            or not 0 <= revocation_percentage <= APPLE_FULL_PERCENTAGE):
        raise ValidationError(f"revocationPercentage {revocation_percentage!r} is not between 0 and 100000.",
                              field="revocationPercentage")
    share = Decimal(revocation_percentage).scaleb(-5)  # exact: 50000 -> 0.50000
    if price is not None and currency == order.currency:
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            raise ValidationError(f"the App Store price {price!r} is not a whole, non-negative number of "
                                  "milliunits.", field="price")
        amount = apple_milliunits_to_money(Decimal(price) * share, currency)
    else:
        amount = Money.rounded(order.amount.amount * share, order.currency)
    return amount.min(order.refundable_remaining)


# --- Apple: verification -------------------------------------------------------------------------------

_APPLE_REFUSALS = {
    VerificationStatus.VERIFICATION_FAILURE: (
        "apple_signature_invalid",
        "the signature or its certificate chain does not verify: Apple signs with a leaf certificate carrying "
        "Apple's marker 1.2.840.113635.100.6.11.1, issued by an Apple intermediate CA carrying "
        "1.2.840.113635.100.6.2.1, issued by a root in REFUNDDESK_APPLE_ROOT_CERTS."),
    VerificationStatus.INVALID_CERTIFICATE: (
        "apple_certificate_invalid", "a certificate of the x5c chain cannot be read."),
    VerificationStatus.INVALID_CHAIN_LENGTH: (
        "apple_chain_length", "the x5c chain must hold exactly three certificates: leaf, intermediate, root."),
    VerificationStatus.INVALID_CHAIN: ("apple_chain_invalid", "the x5c certificate chain is not valid."),
    VerificationStatus.INVALID_APP_IDENTIFIER: (
        "apple_wrong_app",
        "it is for another app: its bundle id (or, in Production, its app Apple ID) is not the one set in "
        "REFUNDDESK_APPLE_BUNDLE_ID (REFUNDDESK_APPLE_APP_APPLE_ID)."),
    VerificationStatus.INVALID_ENVIRONMENT: (
        "apple_wrong_environment",
        "it comes from another App Store environment than REFUNDDESK_APPLE_ENVIRONMENT ({environment})."),
}
# Xcode and LocalTesting data is not signed by Apple: the library skips verification for them. Never allowed.
_APPLE_ENVIRONMENTS = {"Production": Environment.PRODUCTION, "Sandbox": Environment.SANDBOX}


def apple_root_certificates(value: str) -> tuple[bytes, ...]:
    """The Apple roots to trust, DER-encoded, from REFUNDDESK_APPLE_ROOT_CERTS: PEM text holding one or more
    certificates, or comma-separated paths of PEM or DER files (Apple publishes AppleRootCA-G3.cer in DER at
    https://www.apple.com/certificateauthority/). Raises ConfigurationError (503) when it is empty or
    unreadable."""
    text = (value or "").strip()
    if not text:
        raise ConfigurationError(
            "App Store notifications are not configured: set REFUNDDESK_APPLE_ROOT_CERTS to Apple Root CA - G3 "
            "(PEM text or the path of AppleRootCA-G3.cer from https://www.apple.com/certificateauthority/).")
    try:
        if "-----BEGIN" in text:
            certificates = x509.load_pem_x509_certificates(text.encode())
        else:
            certificates = []
            for path in (p.strip() for p in text.split(",") if p.strip()):
                data = Path(path).read_bytes()
                certificates += (x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                                 else [x509.load_der_x509_certificate(data)])
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"REFUNDDESK_APPLE_ROOT_CERTS holds no readable certificate: {exc}") from None
    return tuple(c.public_bytes(serialization.Encoding.DER) for c in certificates)


@functools.lru_cache(maxsize=8)
def _verifier(roots: tuple[bytes, ...], online: bool, environment: Environment, bundle_id: str,
              app_apple_id: int | None) -> SignedDataVerifier:
    # kept between requests: with online checks the library caches verified chains (15 minutes)
    return SignedDataVerifier(list(roots), online, environment, bundle_id, app_apple_id)


def apple_verifier() -> SignedDataVerifier:
    """Apple's SignedDataVerifier built from the settings. Raises ConfigurationError (503) naming the
    setting that is missing or wrong: root certificates, bundle id, environment (Production or Sandbox), the
    app's Apple ID (a number; required in Production, as Apple's library requires).
    Source: https://github.com/apple/app-store-server-library-python (Verification Usage)"""
    roots = apple_root_certificates(settings.REFUNDDESK_APPLE_ROOT_CERTS)
    bundle_id = settings.REFUNDDESK_APPLE_BUNDLE_ID
    if not bundle_id:
        raise ConfigurationError("App Store notifications are not configured: set REFUNDDESK_APPLE_BUNDLE_ID "
                                 "to the app's bundle id (com.example.app).")
    environment = _APPLE_ENVIRONMENTS.get(settings.REFUNDDESK_APPLE_ENVIRONMENT)
    if environment is None:
        raise ConfigurationError(f"REFUNDDESK_APPLE_ENVIRONMENT={settings.REFUNDDESK_APPLE_ENVIRONMENT!r}: use "
                                 "Production or Sandbox (Xcode and LocalTesting data is not signed by Apple).")
    raw_id = str(settings.REFUNDDESK_APPLE_APP_APPLE_ID or "").strip()
    if raw_id and not raw_id.isdigit():
        raise ConfigurationError(f"REFUNDDESK_APPLE_APP_APPLE_ID={raw_id!r} is not the app's Apple ID (a number).")
    if not raw_id and environment == Environment.PRODUCTION:
        raise ConfigurationError("App Store notifications are not configured: REFUNDDESK_APPLE_APP_APPLE_ID "
                                 "(the app's Apple ID, a number from App Store Connect) is required in Production.")
    return _verifier(roots, bool(settings.REFUNDDESK_APPLE_ONLINE_CHECKS), environment, bundle_id,
                     int(raw_id) if raw_id else None)


def _apple_verified(decode, signed: str, *, field: str):
    """Run one of the verifier's verify_and_decode_* methods; its refusals become 401 (503 when Apple's OCSP
    responder could not be asked), named by the library's status."""
    try:
        return decode(signed)
    except (ValueError, TypeError, KeyError, AttributeError, ExceptionGroup) as exc:
        # signed, but a member has the wrong type (a price that is not a number...): the library's cattrs
        # structuring fails (cattrs' errors are ExceptionGroups). Apple never sends that: refuse it, 422.
        raise ValidationError(f"App Store {field} cannot be read: a member has the wrong type ({exc}).",
                              field=field) from None
    except VerificationException as exc:
        if exc.status == VerificationStatus.RETRYABLE_VERIFICATION_FAILURE:
            raise StoreUnavailable("Apple's certificate status (OCSP) could not be checked; Apple will deliver the "
                                   "notification again.", field=field) from None
        code, text = _APPLE_REFUSALS.get(exc.status, ("apple_unverified", "it does not verify."))
        text = text.format(environment=settings.REFUNDDESK_APPLE_ENVIRONMENT)
        raise AuthenticationFailed(f"App Store {field} refused: {text}", field=field, code=code) from None


def apple_order_for(*, transaction_id: str, original_transaction_id: str | None) -> Order | None:
    """The app_store order an App Store transaction belongs to, by the rule in this module's docstring: the
    exact `transactionId` first; the `originalTransactionId` only when no order has the exact one and exactly
    one order has the original. None when no order of ours has either. Raises Conflict (409) when two orders
    carry the reference that would decide. Source: Apple's transactionId / originalTransactionId,
    https://developer.apple.com/documentation/appstoreserverapi/originaltransactionid"""
    orders = Order.objects.filter(gateway="app_store")
    for ref in (transaction_id, original_transaction_id):
        if not ref:
            continue
        found = list(orders.filter(gateway_charge_ref=ref).order_by("pk")[:2])
        if len(found) > 1:
            raise Conflict(f"two App Store orders ({found[0].external_id}, {found[1].external_id}) carry the "
                           f"transaction {ref}; nothing recorded until only one does.", field="transactionId")
        if found:
            return found[0]
    return None


def apple_notification_receive(*, signed_payload: str) -> str:
    """Record the refund an App Store Server Notification V2 of type REFUND reports, and reverse it when a
    REFUND_REVERSED follows (Apple undid the refund); other types are acknowledged and ignored. Returns a
    short result for the 200 answer.

    Raises ConfigurationError (503) when App Store verification is not configured, AuthenticationFailed (401)
    when the payload or its transaction does not verify (chain, Apple's marker OIDs, signature, bundle id,
    app Apple ID, environment), StoreUnavailable (503) when Apple's OCSP responder is unreachable,
    ValidationError (422) for a REFUND without a transaction, Conflict (409) for an ambiguous transaction.
    Source: https://developer.apple.com/documentation/appstoreservernotifications/notificationtype (REFUND,
    REFUND_REVERSED)"""
    verifier = apple_verifier()
    notification = _apple_verified(verifier.verify_and_decode_notification, signed_payload, field="signedPayload")
    kind = notification.rawNotificationType
    if kind not in ("REFUND", "REFUND_REVERSED"):
        return f"{kind}: nothing to record"
    signed_info = notification.data.signedTransactionInfo if notification.data else None
    if not signed_info:
        raise ValidationError("a REFUND notification must carry data.signedTransactionInfo.",
                              field="signedTransactionInfo")
    info = _apple_verified(verifier.verify_and_decode_signed_transaction, signed_info, field="signedTransactionInfo")
    if not info.transactionId:
        raise ValidationError("the refunded transaction has no transactionId.", field="transactionId")
    if kind == "REFUND_REVERSED":
        # Apple undid a refund it had granted (a dispute decided for the developer): the money is the
        # merchant's again, so the refund we recorded is reversed like any refund that fails after succeeding.
        reversed_refund = refund_record_external_reversal(
            gateway="app_store", gateway_ref=f"apple-{info.transactionId}",
            reason="the App Store reversed the refund it had granted (REFUND_REVERSED)")
        return "refund reversed" if reversed_refund else "no refund of that transaction to reverse; logged"
    order = apple_order_for(transaction_id=info.transactionId, original_transaction_id=info.originalTransactionId)
    if order is None:
        log.warning("App Store refund of transaction %s (original %s): no order of ours; ignored",
                    info.transactionId, info.originalTransactionId)
        return "unknown transaction; logged"
    gateway_ref = f"apple-{info.transactionId}"
    return _record(order=order, gateway="app_store", gateway_ref=gateway_ref, amount=apple_refund_amount(
        order=order, price=info.price, currency=info.currency, revocation_percentage=info.revocationPercentage))


def _record(*, order: Order, gateway: str, gateway_ref: str, amount: Money) -> str:
    if Refund.objects.filter(gateway=gateway, gateway_ref=gateway_ref).exists():
        return "already recorded"  # a repeat; refund_record_external would also change nothing
    if amount.minor == 0:
        log.warning("%s refund %s on order %s: nothing left to refund; ignored", gateway, gateway_ref, order)
        return f"nothing left to refund on order {order.external_id}; logged"
    recorded = refund_record_external(gateway=gateway, charge_ref=order.gateway_charge_ref,
                                      gateway_ref=gateway_ref, amount=amount, origin=Origin.STORE, order=order)
    return "recorded" if recorded else "already recorded"


# --- Google ---------------------------------------------------------------------------------------------

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
REFUND_TYPE_FULL, REFUND_TYPE_QUANTITY_PARTIAL = 1, 2  # voidedPurchaseNotification.refundType


def google_push_authenticate(*, authorization: str, token: str) -> str:
    """Check that a Pub/Sub push comes from the merchant's subscription. Returns "oidc" or "token".

    With REFUNDDESK_GOOGLE_PUSH_AUDIENCE and REFUNDDESK_GOOGLE_PUSH_SERVICE_ACCOUNTS set, only `authorization`
    counts ("Bearer <JWT>", the OIDC token Pub/Sub adds): verified with google-auth against the certificates at
    REFUNDDESK_GOOGLE_OIDC_CERTS_URL (signature, iat/exp, audience), then issuer accounts.google.com and a
    verified email among the allowed service accounts (https://cloud.google.com/pubsub/docs/authenticate-push-
    subscriptions). Otherwise the shared `token` of the address must equal REFUNDDESK_GOOGLE_PUSH_TOKEN.
    Raises AuthenticationFailed (401) naming what is wrong, ConfigurationError (503) when neither is set up
    (or only half of OIDC), StoreUnavailable (503) when Google's certificates cannot be fetched."""
    audience = settings.REFUNDDESK_GOOGLE_PUSH_AUDIENCE
    accounts = list(settings.REFUNDDESK_GOOGLE_PUSH_SERVICE_ACCOUNTS or [])
    if audience or accounts:
        if not (audience and accounts):
            missing = "REFUNDDESK_GOOGLE_PUSH_SERVICE_ACCOUNTS" if audience else "REFUNDDESK_GOOGLE_PUSH_AUDIENCE"
            raise ConfigurationError(f"Google Play push OIDC is half configured: set {missing} too (any Google "
                                     "account can obtain a token for any audience; both are checked).")
        _google_verify_oidc(authorization, audience=audience, accounts=accounts)
        return "oidc"
    expected = settings.REFUNDDESK_GOOGLE_PUSH_TOKEN
    if not expected:
        raise ConfigurationError("Google Play notifications are not configured: set REFUNDDESK_GOOGLE_PUSH_AUDIENCE "
                                 "and REFUNDDESK_GOOGLE_PUSH_SERVICE_ACCOUNTS (OIDC push authentication), or "
                                 "REFUNDDESK_GOOGLE_PUSH_TOKEN.")
    if not hmac.compare_digest(expected.encode(), (token or "").encode()):
        raise AuthenticationFailed("wrong or missing push token (?token=... in the push endpoint's address).",
                                   field="token")
    return "token"


def _google_verify_oidc(authorization: str, *, audience: str, accounts: list[str]) -> None:
    scheme, _, raw = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise AuthenticationFailed("missing OIDC token: this endpoint accepts only pushes with 'Authorization: "
                                   "Bearer <JWT>' (enable authentication on the push subscription).",
                                   field="Authorization")
    certs_url = settings.REFUNDDESK_GOOGLE_OIDC_CERTS_URL
    request = functools.partial(google.auth.transport.requests.Request(), timeout=10)
    try:
        claims = id_token.verify_token(raw.strip(), request, audience=audience, certs_url=certs_url)
    except google.auth.exceptions.TransportError as exc:
        raise StoreUnavailable(f"Google's token certificates could not be fetched from {certs_url}: {exc}",
                               field="Authorization") from None
    except (ValueError, PyJWTError, google.auth.exceptions.GoogleAuthError) as exc:
        raise AuthenticationFailed(f"the push's OIDC token was refused: {exc}", field="Authorization") from None
    if "exp" not in claims:
        raise AuthenticationFailed("the push's OIDC token has no expiry (exp).", field="Authorization")
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise AuthenticationFailed(f"the push's OIDC token was issued by {claims.get('iss')!r}, not Google.",
                                   field="Authorization")
    if claims.get("email_verified") is not True or claims.get("email") not in accounts:
        raise AuthenticationFailed(f"the push's OIDC token is for {claims.get('email')!r}, not a verified service "
                                   "account of REFUNDDESK_GOOGLE_PUSH_SERVICE_ACCOUNTS.", field="Authorization")


def google_order_for(*, order_id: str, purchase_token: str | None) -> Order | None:
    """The google_play order a voided purchase belongs to (rule in this module's docstring). `order_id` is
    Google's order id ("GPA.1234-5678-9012-34567" for a first purchase, "...34567..0", "..1" for a
    subscription's renewals); `purchase_token` the purchase's token (shared by a subscription's renewals).

    The exact order id first; else, when the orders of ours of that purchase (the first order, its renewals,
    the one recorded under the purchase token) are exactly one and it is the first order or the token's,
    that order. None when there are none. Raises Conflict (409) when two orders carry the exact id, or when
    several orders of that subscription exist but none with the exact id.
    Source: https://developer.android.com/google/play/billing/rtdn-reference#voided-purchase"""
    orders = Order.objects.filter(gateway="google_play")
    exact = list(orders.filter(gateway_charge_ref=order_id).order_by("pk")[:2])
    if len(exact) > 1:
        raise Conflict(f"two Google Play orders ({exact[0].external_id}, {exact[1].external_id}) carry the order "
                       f"id {order_id}; nothing recorded until only one does.", field="orderId")
    if exact:
        return exact[0]
    first = order_id.partition("..")[0]
    owners = {ref for ref in (first, purchase_token) if ref}
    if not owners:
        return None
    renewals = Q(gateway_charge_ref__startswith=f"{first}..") if first else Q(pk__in=[])
    linked = list(orders.filter(Q(gateway_charge_ref__in=owners) | renewals).order_by("pk")[:3])
    if len(linked) == 1 and linked[0].gateway_charge_ref in owners:
        return linked[0]
    if linked:
        raise Conflict(f"no order carries the Google order id {order_id}, and the orders of that purchase ("
                       + ", ".join(o.external_id for o in linked) + ") are not one first order: import the "
                       "order first; Pub/Sub delivers again.", field="orderId")
    return None


def google_notification_receive(*, authorization: str, token: str, body: dict) -> str:
    """Record the refund a Google Play voided-purchase notification (Pub/Sub push, `body` = {"message":
    {"data": base64 JSON, ...}, "subscription": ...}) reports; other notifications are acknowledged and
    ignored. Google gives no amount: a full refund (refundType 1) books what is left on the order; a
    quantity-based partial refund (refundType 2) is not booked (the answer says so). Returns a short result.

    Raises what `google_push_authenticate` raises; ValidationError (422) for a body that is not a Pub/Sub push
    of JSON, a voided purchase without orderId or with an unknown refundType; Conflict (409) from
    `google_order_for`. Source: https://developer.android.com/google/play/billing/rtdn-reference"""
    google_push_authenticate(authorization=authorization, token=token)
    try:
        data = json.loads(base64.b64decode(body["message"]["data"]))
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ValidationError("not a Pub/Sub push message with base64 JSON data.", field="message") from None
    voided = data.get("voidedPurchaseNotification") if isinstance(data, dict) else None
    if not voided:
        return "not a voided purchase: nothing to record"
    order_id, purchase_token = voided.get("orderId"), voided.get("purchaseToken")
    if not isinstance(order_id, str) or not order_id:
        raise ValidationError("a voided purchase must name its orderId.", field="orderId")
    refund_type = voided.get("refundType", REFUND_TYPE_FULL)
    if refund_type == REFUND_TYPE_QUANTITY_PARTIAL:
        log.warning("Google Play partial (quantity-based) refund of order %s: no amount given; not recorded", order_id)
        return (f"partial refund (quantity-based) of order {order_id}: Google gives no amount; not recorded, "
                "record it by hand")
    if refund_type != REFUND_TYPE_FULL:
        raise ValidationError(f"refundType {refund_type!r} is neither 1 (full) nor 2 (quantity-based partial).",
                              field="refundType")
    order = google_order_for(order_id=order_id, purchase_token=purchase_token)
    if order is None:
        log.warning("Google Play voided purchase for unknown order %s; ignored", order_id)
        return "unknown order; logged"
    return _record(order=order, gateway="google_play", gateway_ref=f"gplay-{order_id}-{REFUND_TYPE_FULL}",
                   amount=order.refundable_remaining)

"""Fixtures for the gateway tests: RSA keys made in this session, fake gateways on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.payments.fakes.alipay_fake import AlipayFake
from tests.payments.fakes.server import FakeServer
from tests.payments.fakes.stripe_fake import StripeFake
from tests.payments.fakes.wechat_fake import WeChatFake

#: Client timeout used against the fakes; their `slow` fault sleeps longer than this.
CLIENT_TIMEOUT = 1.0
SLOW = 2.0


@dataclass(frozen=True)
class KeyPair:
    private_key: rsa.RSAPrivateKey
    private_pem: str  # PKCS#8
    public_pem: str  # SubjectPublicKeyInfo


def _keypair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(key, private_pem, public_pem)


@pytest.fixture(scope="session")
def merchant_keys() -> KeyPair:
    """The merchant's (our) RSA key: Alipay app key, WeChat merchant API key."""
    return _keypair()


@pytest.fixture(scope="session")
def gateway_keys() -> KeyPair:
    """The gateway's RSA key: Alipay public key, WeChat Pay platform key."""
    return _keypair()


@pytest.fixture(scope="session")
def stranger_keys() -> KeyPair:
    """Someone else's key, for forged signatures."""
    return _keypair()


@contextmanager
def serving(fake):
    """Run ``fake`` on 127.0.0.1:<free port>; ``fake.url`` is its base address while the block runs."""
    server = FakeServer(fake).start()
    fake.server = server
    try:
        yield fake
    finally:
        server.stop()
    assert not server.errors, "the fake crashed:\n" + "\n".join(server.errors)


@pytest.fixture
def stripe_fake() -> Iterator[StripeFake]:
    with serving(StripeFake()) as fake:
        yield fake


@pytest.fixture
def alipay_fake(merchant_keys: KeyPair, gateway_keys: KeyPair) -> Iterator[AlipayFake]:
    with serving(AlipayFake(app_public_pem=merchant_keys.public_pem, alipay_private_key=gateway_keys.private_key)) as fake:
        yield fake


@pytest.fixture
def wechat_fake(merchant_keys: KeyPair, gateway_keys: KeyPair) -> Iterator[WeChatFake]:
    fake = WeChatFake(merchant_public_pem=merchant_keys.public_pem, platform_private_key=gateway_keys.private_key)
    with serving(fake):
        yield fake


@pytest.fixture
def stripe_gateway(stripe_fake, settings):
    """The fake Stripe, configured as this installation's `stripe` gateway (webhooks signed with its secret)."""
    from refunddesk.payments import registry
    from tests.payments.fakes.stripe_fake import API_KEY, WEBHOOK_SECRET

    settings.REFUNDDESK_GATEWAYS = {
        **settings.REFUNDDESK_GATEWAYS,
        "stripe": {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET, "api_base": stripe_fake.url, "timeout": 1},
    }
    registry.reset()
    yield stripe_fake
    registry.reset()


@contextmanager
def database_refuses_updates(table: str):
    """While the block runs, the database itself refuses every UPDATE of `table` with an error (a trigger),
    as a transient failure (a serialization failure, a lost connection) would: a real database error in
    the middle of a request, not a stand-in for the project's code."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"CREATE TRIGGER rd_injected_fault BEFORE UPDATE ON {table} "
                           "BEGIN SELECT RAISE(ABORT, 'injected fault'); END")
        else:
            cursor.execute("CREATE OR REPLACE FUNCTION rd_injected_fault() RETURNS trigger AS $$ BEGIN "
                           "RAISE EXCEPTION 'injected fault' USING ERRCODE = '40001'; END $$ LANGUAGE plpgsql")
            cursor.execute(f"CREATE TRIGGER rd_injected_fault BEFORE UPDATE ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION rd_injected_fault()")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS rd_injected_fault{'' if connection.vendor == 'sqlite' else ' ON ' + table}")


@pytest.fixture
def alipay_configured(settings, alipay_fake, merchant_keys, gateway_keys):
    """The fake Alipay, configured as this installation's `alipay` gateway."""
    from refunddesk.payments import registry
    from tests.payments.fakes.alipay_fake import APP_ID

    settings.REFUNDDESK_GATEWAYS = {**settings.REFUNDDESK_GATEWAYS, "alipay": {
        "app_id": APP_ID, "app_private_key": merchant_keys.private_pem,
        "alipay_public_key": gateway_keys.public_pem, "gateway_url": alipay_fake.url, "timeout": CLIENT_TIMEOUT}}
    registry.reset()
    yield alipay_fake
    registry.reset()

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

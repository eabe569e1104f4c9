from __future__ import annotations

import io
import shutil
import tempfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from tests.channels import dovecot, wecom_fake

SUPPORT = "refunds@shop.test"


@pytest.fixture(scope="session")
def imap_server():
    """One unprivileged dovecot for the session (each test gets a fresh folder of it: `mailbox`)."""
    if not dovecot.available():
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd): the email tests need a real IMAP "
                    "server")
    folder = Path(tempfile.mkdtemp(prefix="refunddesk-dovecot-"))
    server = dovecot.Dovecot(folder).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def mailbox(imap_server, settings):
    """The support mailbox: a folder of its own on the test dovecot, and refunddesk's settings pointing at it."""
    import secrets

    from imapclient import IMAPClient

    name = "T" + secrets.token_hex(4)
    with IMAPClient("127.0.0.1", port=imap_server.port, ssl=False) as box:
        box.login(dovecot.USER, dovecot.PASSWORD)
        box.create_folder(name)
    settings.REFUNDDESK_MAIL_ADDRESS = SUPPORT
    settings.REFUNDDESK_IMAP_HOST = "127.0.0.1"
    settings.REFUNDDESK_IMAP_PORT = imap_server.port
    settings.REFUNDDESK_IMAP_SSL = False
    settings.REFUNDDESK_IMAP_USER = dovecot.USER
    settings.REFUNDDESK_IMAP_PASSWORD = dovecot.PASSWORD
    settings.REFUNDDESK_IMAP_FOLDER = name

    class Mailbox:
        server = imap_server
        folder = name

        def deliver(self, msg: EmailMessage | bytes) -> None:
            imap_server.deliver(msg if isinstance(msg, bytes) else msg.as_bytes(), folder=name)

    return Mailbox()


@pytest.fixture
def wecom(settings):
    fake, server = wecom_fake.start()
    settings.REFUNDDESK_WECOM_CORP_ID = fake.corp_id
    settings.REFUNDDESK_WECOM_SECRET = fake.secret
    settings.REFUNDDESK_WECOM_TOKEN = fake.token
    settings.REFUNDDESK_WECOM_AES_KEY = fake.aes_key
    settings.REFUNDDESK_WECOM_OPEN_KFID = fake.open_kfid
    settings.REFUNDDESK_WECOM_API_BASE = server.url + "/cgi-bin/"
    yield fake
    server.stop()
    assert server.errors == []


def png_bytes(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, "PNG")
    return out.getvalue()


def email(*, sender: str, subject: str, text: str, to: str = SUPPORT, attachments=(), **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = headers.pop("message_id", None) or f"<{__import__('secrets').token_hex(8)}@mail.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    for name, data, mime in attachments:
        maintype, _sep, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg

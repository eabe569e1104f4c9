"""The support mailbox over IMAP, with `imapclient`: new messages since the last UID seen (kept with the
folder's UIDVALIDITY in channels.Cursor), read without changing their flags until handled, then flagged
\\Seen. Settings: REFUNDDESK_IMAP_HOST, _PORT, _SSL, _USER, _PASSWORD, _FOLDER."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from imapclient import IMAPClient

from refunddesk.channels.models import Cursor

log = logging.getLogger(__name__)
BATCH = 50


def _cursor_name() -> str:
    return f"imap:{settings.REFUNDDESK_IMAP_USER}@{settings.REFUNDDESK_IMAP_HOST}/{settings.REFUNDDESK_IMAP_FOLDER}"


def fetch(*, receive: Callable[[bytes], object]) -> int:
    """Hand each message that arrived since the last fetch (raw bytes) to `receive`, oldest first, and move
    the cursor past it. A message `receive` fails on is logged and left unflagged for a person (the mailbox
    keeps it). Returns how many messages were read. Raises imapclient / socket errors (the task is retried)."""
    ssl = settings.REFUNDDESK_IMAP_SSL
    with IMAPClient(settings.REFUNDDESK_IMAP_HOST, port=settings.REFUNDDESK_IMAP_PORT, ssl=ssl, timeout=30) as box:
        box.login(settings.REFUNDDESK_IMAP_USER, settings.REFUNDDESK_IMAP_PASSWORD)
        info = box.select_folder(settings.REFUNDDESK_IMAP_FOLDER)
        validity = str(info.get(b"UIDVALIDITY", b""))
        name = _cursor_name()
        saved = Cursor.objects.filter(name=name).values_list("value", flat=True).first() or ""
        saved_validity, _sep, saved_uid = saved.partition(":")
        last = int(saved_uid) if saved_validity == validity and saved_uid.isdigit() else 0
        uids = sorted(uid for uid in box.search(["UID", f"{last + 1}:*"]) if uid > last)
        read = 0
        for start in range(0, len(uids), BATCH):
            batch = uids[start:start + BATCH]
            for uid, data in sorted(box.fetch(batch, ["BODY.PEEK[]"]).items()):
                try:
                    receive(data[b"BODY[]"])
                except Exception:
                    log.exception("mailbox message UID %s could not be handled; left for a person", uid)
                else:
                    box.add_flags([uid], [b"\\Seen"])
                read += 1
                Cursor.objects.update_or_create(name=name, defaults={"value": f"{validity}:{uid}"})
        return read

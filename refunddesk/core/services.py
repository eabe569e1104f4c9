from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from refunddesk.core.errors import AuthenticationFailed
from refunddesk.core.models import ApiKey, hash_key


@transaction.atomic
def api_key_create(*, name: str) -> tuple[ApiKey, str]:
    """Create an API key; returns the row and the raw key, which is never stored."""
    raw = ApiKey.generate()
    key = ApiKey(name=name)
    key.set_key(raw)
    key.save()
    return key, raw


def api_key_authenticate(*, raw: str) -> ApiKey:
    key = ApiKey.objects.filter(key_hash=hash_key(raw or ""), active=True).first()
    if key is None:
        raise AuthenticationFailed("missing or unknown API key; send 'Authorization: Bearer <key>'.")
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key

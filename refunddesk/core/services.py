from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refunddesk.core.calendar import parse_schedule
from refunddesk.core.errors import AuthenticationFailed, NotFound, ValidationError
from refunddesk.core.models import ApiKey, HolidaySchedule, hash_key
from refunddesk.core.stamps import stamp, stamp_bump, stamp_key


@transaction.atomic
def api_key_create(*, name: str) -> tuple[ApiKey, str]:
    """Create an API key; returns the row and the raw key, which is never stored."""
    raw = ApiKey.generate()
    key = ApiKey(name=name)
    key.set_key(raw)
    key.save()
    return key, raw


#: The shared-cache stamp (core.stamps) that changes whenever an API key is created, changed or deleted.
API_KEYS_STAMP = stamp_key("refunddesk:api-keys")
_keys: dict = {"stamp": None, "by_hash": {}}  # this process's known active keys, by hash


def api_keys_changed(sender=None, **kwargs) -> None:
    """post_save / post_delete of ApiKey (core.apps): every process looks its keys up again."""
    stamp_bump(API_KEYS_STAMP, local=lambda: _keys.update(stamp=None, by_hash={}))


def api_key_authenticate(*, raw: str) -> ApiKey:
    """The active API key `raw` is (Authorization: Bearer <key>), stamping when it was last used (at most once a
    minute). Raises AuthenticationFailed. A key found is kept by this process until any key is created,
    revoked or deleted (API_KEYS_STAMP: then every process looks again): the routes integrators call most
    cost no query for the key."""
    digest = hash_key(raw or "")
    current = stamp(API_KEYS_STAMP)
    if _keys["stamp"] != current or not current:
        _keys.update(stamp=current, by_hash={})
    key = _keys["by_hash"].get(digest)
    if key is None:
        try:  # key_hash is unique: .get(), no ORDER BY
            key = ApiKey.objects.get(key_hash=digest, active=True)
        except ApiKey.DoesNotExist:
            raise AuthenticationFailed("missing or unknown API key; send 'Authorization: Bearer <key>'.") from None
        if len(_keys["by_hash"]) < 1000:
            _keys["by_hash"][digest] = key
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def access_token_create(*, user, name: str = "api", days: int | None = 90):
    """Issue a personal API token for a customer or a staff member; returns (row, raw token)."""
    import datetime as dt

    from refunddesk.core.models import AccessToken

    raw = AccessToken.PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user, name=name, prefix=raw[:12], key_hash=hash_key(raw),
        expires_at=timezone.now() + dt.timedelta(days=days) if days else None,
    )
    return token, raw


def access_token_authenticate(*, raw: str):
    from refunddesk.core.models import AccessToken

    try:  # key_hash is unique: .get(), no ORDER BY
        token = AccessToken.objects.select_related("user").get(key_hash=hash_key(raw or ""))
    except AccessToken.DoesNotExist:
        token = None
    now = timezone.now()
    if token is None or not token.user.is_active or (token.expires_at and token.expires_at < now):
        raise AuthenticationFailed("missing, unknown or expired token; sign in again to get a new one.")
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- holiday schedules recorded in the console -------------------------------------------------

#: The shared-cache stamp (core.stamps) that changes whenever a schedule is recorded or removed.
HOLIDAY_SCHEDULES_STAMP = stamp_key("refunddesk:holiday-schedules")


@transaction.atomic
def holiday_schedule_record(*, document: str, country: str, user=None) -> HolidaySchedule:
    """Record (or replace) the official schedule of one year for the merchant's calendar `country`. The
    document is checked first (every mistake named); nothing is stored unless it is valid."""
    schedule = parse_schedule(document or "", "schedule")
    if schedule.country != country.strip().upper():
        raise ValidationError(
            _("This schedule is for %(theirs)s, but the holiday calendar is %(ours)s's "
              "(REFUNDDESK_HOLIDAY_COUNTRY).") % {"theirs": schedule.country, "ours": country.upper()},
            field="document")
    row, _created = HolidaySchedule.objects.update_or_create(
        country=schedule.country, year=schedule.year,
        defaults={"document": document, "recorded_by": user, "recorded_at": timezone.now()})
    stamp_bump(HOLIDAY_SCHEDULES_STAMP)  # every process's calendar (refunds.deadlines) reads them again
    return row


@transaction.atomic
def holiday_schedule_remove(*, country: str, year: int) -> None:
    deleted, _rows = HolidaySchedule.objects.filter(country=country.strip().upper(), year=year).delete()
    stamp_bump(HOLIDAY_SCHEDULES_STAMP)
    if not deleted:
        raise NotFound(_("No schedule for %(year)s was recorded here.") % {"year": year})

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refunddesk.core.calendar import parse_schedule
from refunddesk.core.errors import AuthenticationFailed, NotFound, ValidationError
from refunddesk.core.models import ApiKey, HolidaySchedule, hash_key
from refunddesk.core.stamps import stamp_bump


@transaction.atomic
def api_key_create(*, name: str) -> tuple[ApiKey, str]:
    """Create an API key; returns the row and the raw key, which is never stored."""
    raw = ApiKey.generate()
    key = ApiKey(name=name)
    key.set_key(raw)
    key.save()
    return key, raw


def api_key_authenticate(*, raw: str) -> ApiKey:
    # key_hash is unique: .get() (no ORDER BY for the planner to consider on every API call)
    try:
        key = ApiKey.objects.get(key_hash=hash_key(raw or ""), active=True)
    except ApiKey.DoesNotExist:
        key = None
    if key is None:
        raise AuthenticationFailed("missing or unknown API key; send 'Authorization: Bearer <key>'.")
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
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
HOLIDAY_SCHEDULES_STAMP = "refunddesk:holiday-schedules"


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

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from refunddesk.billing.models import Customer, Order, Plan
from refunddesk.core.dates import format_date
from refunddesk.notify.services import email_enqueue
from refunddesk.policies.models import PolicyVersion


def customers_with_active_orders(*, now: dt.datetime):
    """Customers with an order whose paid period is still running, not ended by us, not fully refunded."""
    longest = Plan.objects.aggregate(m=Max("period_days"))["m"] or 0
    orders = Order.objects.filter(
        service_ended_at__isnull=True, refunded_minor__lt=F("amount_minor"),
        purchased_at__gte=now - dt.timedelta(days=longest),
    ).values_list("customer_id", "purchased_at", "plan__period_days")
    ids = {cid for cid, bought, days in orders.iterator() if bought + dt.timedelta(days=days) > now}
    return Customer.objects.filter(id__in=ids).only("email", "name", "language").order_by("id")


def _changes(version: PolicyVersion, language: str) -> str:
    """What `version` changed, in words for customers in `language` (selectors.changes_in_words: the
    document's `changes`, else its rules added, changed or removed); the publisher's note when neither says."""
    from django.utils import translation

    from refunddesk.policies.selectors import changes_in_words

    previous = (PolicyVersion.objects.filter(effective_at__lt=version.effective_at).defer("cases")
                .order_by("-effective_at", "-id").first())
    with translation.override(language):
        lines = changes_in_words(old=previous, new=version, language=language)
    return " ".join(lines) if lines else version.change_note


@transaction.atomic
def policy_change_emails_enqueue(*, version_id: int) -> int:
    """Queue the major-change email of version `version_id` to every customer with an active order, in their
    language, saying what changed in that language. Returns how many were queued."""
    version = PolicyVersion.objects.get(pk=version_id)
    now = timezone.now()
    sent = 0
    notes: dict[str, str] = {}
    for customer in customers_with_active_orders(now=now).iterator(chunk_size=500):
        language = "zh-hans" if (customer.language or "").lower().startswith("zh") else "en"
        if language not in notes:
            notes[language] = _changes(version, language)
        email_enqueue(
            to=customer.email, kind="policy_changed", language=customer.language,
            context={"name": customer.name or customer.email, "title": version.title(customer.language),
                     "version": version.version, "effective": format_date(version.effective_at, customer.language),
                     "note": notes[language], "link": f"{settings.SITE_URL}/policy/versions/{version.pk}/"},
        )
        sent += 1
    return sent

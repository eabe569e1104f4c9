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


@transaction.atomic
def policy_change_emails_enqueue(*, version_id: int) -> int:
    version = PolicyVersion.objects.get(pk=version_id)
    now = timezone.now()
    sent = 0
    for customer in customers_with_active_orders(now=now).iterator(chunk_size=500):
        email_enqueue(
            to=customer.email, kind="policy_changed", language=customer.language,
            context={"name": customer.name or customer.email, "title": version.title(customer.language),
                     "version": version.version, "effective": format_date(version.effective_at, customer.language),
                     "note": version.change_note, "link": f"{settings.SITE_URL}/policy/"},
        )
        sent += 1
    return sent

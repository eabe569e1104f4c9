"""A small history for the reports, made through the public services: requests decided by the policy and by
people (an override among them), an appeal upheld and one rejected, refunds paid in two currencies, an outage
compensated."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from refunddesk.payments import services as payment_services
from refunddesk.payments.models import Refund
from refunddesk.refunds import services as s
from refunddesk.status import compensation
from refunddesk.status import services as status_services
from tests.factories import CustomerFactory, OrderFactory, PlanFactory, UsageFactory


def report_history(*, agent, supervisor, supervisor2, finance) -> dict:
    now = timezone.now()
    status_services.region_upsert(code="cn-east", name_en="China East", name_zh="华东", position=1)
    status_services.region_upsert(code="us-west", name_en="US West", name_zh="美国西部", position=2)
    monthly = PlanFactory(external_id="vpn-monthly", name="VPN monthly")
    yearly = PlanFactory(external_id="vpn-yearly", name="VPN yearly", price_minor=29800, period_days=365)

    def submit(reason, *, plan=monthly, currency="CNY", amount=3000, channel="web", gateway="manual", region="cn-east",
               days_ago=3):
        customer = CustomerFactory(region=region)
        order = OrderFactory(customer=customer, plan=plan, currency=currency, amount_minor=amount,
                             sales_channel=channel, gateway=gateway, payment_method="bank_transfer",
                             purchased_at=now - dt.timedelta(days=days_ago + 1))
        UsageFactory(order=order)
        for _extra in range(2):  # more orders than requests: a refund rate below 100%
            OrderFactory(customer=CustomerFactory(region=region), plan=plan, currency=currency, sales_channel=channel,
                         purchased_at=now - dt.timedelta(days=days_ago + 1))
        return customer, s.refund_request_submit(customer=customer, order_number=order.external_id, reason=reason,
                                                 now=now - dt.timedelta(days=days_ago))

    def pay(req):
        refund = Refund.objects.get(request=req)
        payment_services.refund_mark_paid(refund_id=refund.pk, user=finance, reference=f"BANK-{refund.pk}")

    made = {}
    for i in range(3):
        _c, req = submit("duplicate_charge", days_ago=3 + 7 * i)
        pay(req)
    _c, usd = submit("duplicate_charge", currency="USD", amount=1234, plan=yearly, region="us-west")
    pay(usd)
    submit("changed_mind", days_ago=10)
    submit("technical_issue", channel="app_store", gateway="app_store")
    _c, reviewed = submit("not_satisfied", days_ago=6)
    s.refund_request_approve(public_id=reviewed.public_id, user=agent, amount="30.00", reason="Fair",
                             clause="default", override_reason="Long-standing customer")
    customer, appealed = submit("changed_mind", days_ago=12)  # the policy rejects; upheld on appeal: an override
    s.refund_request_appeal(customer=customer, public_id=appealed.public_id, reason="It did not work")
    s.refund_request_decide_appeal(public_id=appealed.public_id, user=supervisor, uphold=True, reason="Logs agree",
                                   clause="default", override_reason="An emergency, documented")
    customer, second = submit("other", days_ago=2)
    s.refund_request_reject(public_id=second.public_id, user=agent, reason="No fault found", clause="default")
    s.refund_request_appeal(customer=customer, public_id=second.public_id, reason="Please")
    s.refund_request_decide_appeal(public_id=second.public_id, user=supervisor2, uphold=False, reason="Final",
                                   clause="default")
    submit("not_satisfied")  # still waiting for a person

    inc, _ = status_services.incident_open(
        title_en="Outage in China East", title_zh="华东中断", regions=["cn-east"], severity="outage",
        started_at=now - dt.timedelta(hours=80), ended_at=now - dt.timedelta(hours=2), now=now)
    for _i in range(2):
        o = OrderFactory(customer=CustomerFactory(region="cn-east"), plan=monthly,
                         purchased_at=now - dt.timedelta(days=5))
        UsageFactory(order=o)
    run, _ = status_services.compensation_start(incident_id=inc.pk, enqueue=False, force=True)
    compensation.compensation_execute(run_id=run.pk, batch_size=100)
    made["usd"] = usd
    return made

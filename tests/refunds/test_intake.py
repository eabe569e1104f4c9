"""One way in (issue 16): the policy API answers what a submission does; a request's row is built one way
whether it is inserted alone or in bulk; the bulk insert keeps every constraint on both databases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from refunddesk.policies.services import policy_publish
from refunddesk.refunds import services as s
from refunddesk.refunds.facts import Row, facts_for_order
from refunddesk.refunds.models import RefundRequest, TimelineEvent
from refunddesk.refunds.states import Actor, Status
from tests.factories import CustomerFactory, OrderFactory, UsageFactory

pytestmark = pytest.mark.django_db
POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def fourteen_day(db):
    path = POLICIES / "standard-14-day.yaml"
    return policy_publish(document=path.read_text(encoding="utf-8"),
                          cases=path.with_name("standard-14-day.cases.yaml").read_text(encoding="utf-8"),
                          effective_at=timezone.now() - dt.timedelta(days=400))


def test_the_evaluate_api_answers_what_a_submission_does_for_an_app_store_order(fourteen_day, customer, api):
    """The 14-day policy on an App Store order answered approve 49.00 while the product redirects."""
    order = OrderFactory(customer=customer, sales_channel="app_store", gateway="app_store", amount_minor=4900,
                         purchased_at=timezone.now() - dt.timedelta(days=2))
    UsageFactory(order=order, paid_features_used=False, quota_used_ratio=0)
    facts = facts_for_order(order=order, reason="not_satisfied", now=timezone.now())
    answer = api.post("/api/v1/policy/evaluate", data=json.dumps({"facts": facts}),
                      content_type="application/json")
    assert answer.status_code == 200, answer.content
    req = s.refund_request_submit(customer=customer, order_number=order.external_id, reason="not_satisfied")
    assert req.status == Status.REDIRECTED
    assert answer.json()["outcome"] == "redirect"


def test_an_approval_of_nothing_is_a_review_in_the_api_as_in_a_submission(published_policy, customer, api):
    """Same kind: the API said approve 0.00 where a submission sends the request to a person."""
    order = OrderFactory(customer=customer, amount_minor=3000, refunded_minor=0)
    UsageFactory(order=order)
    facts = facts_for_order(order=order, reason="duplicate_charge", now=timezone.now())
    facts["order"]["refunded"] = facts["order"]["amount"]  # nothing left
    facts["charge"]["duplicate"] = True
    answer = api.post("/api/v1/policy/evaluate", data=json.dumps({"facts": facts}), content_type="application/json")
    body = answer.json()
    assert (body["outcome"], body["policy_outcome"], body["refund"]["amount"]) == ("review", "approve", "0.00")


def test_a_request_row_is_the_same_inserted_alone_or_in_bulk(published_policy):
    from refunddesk.refunds import intake

    now = timezone.now()
    orders = [OrderFactory(customer=CustomerFactory()) for _ in range(3)]
    for o in orders:
        UsageFactory(order=o)
    decided = intake.decide_orders([Row.of(o) for o in orders], reason="other", now=now)
    rows = [intake.request_fields(row=Row.of(o), decided=decided[o.pk], reason="other", description=" hi ",
                                  language="en", now=now) for o in orders]
    alone = intake.request_create(dict(rows[0]), actor_kind=Actor.SYSTEM, now=now)
    bulk = intake.requests_create([dict(r) for r in rows[1:]], actor_kind=Actor.SYSTEM, now=now)
    assert len(bulk) == 2
    columns = [f.attname for f in RefundRequest._meta.concrete_fields if f.attname not in ("id", "public_id", "order_id", "updated_at",
                                                                                             "customer_id", "facts",
                                                                                             "policy_trace")]
    one = RefundRequest.objects.filter(pk=alone.pk).values(*columns).get()
    for row in bulk:
        other = RefundRequest.objects.filter(pk=row["id"]).values(*columns).get()
        assert {k: v for k, v in other.items() if k != "policy_explanation"} == {
            k: v for k, v in one.items() if k != "policy_explanation"}
    assert TimelineEvent.objects.filter(action="submit").count() == 3
    # a second bulk insert for the same orders skips them: one open request per order
    assert intake.requests_create([dict(r, public_id=f"RR-X{i}") for i, r in enumerate(rows[1:])],
                                  actor_kind=Actor.SYSTEM, now=now) == []


def test_the_bulk_insert_keeps_defaults_json_and_constraints(published_policy):
    """core.bulk.insert_rows is bulk_create on SQLite and COPY on PostgreSQL: same defaults, same JSON,
    same unique indexes (and nothing of a refused batch is kept)."""
    from refunddesk.core.bulk import insert_rows
    from refunddesk.refunds import intake

    now = timezone.now()
    orders = [OrderFactory(customer=CustomerFactory()) for _ in range(2)]
    decided = intake.decide_orders([Row.of(o) for o in orders], reason="other", now=now)
    rows = [intake.request_fields(row=Row.of(o), decided=decided[o.pk], reason="other", description="x",
                                  language="zh-hans", now=now) for o in orders]
    ids = insert_rows(RefundRequest, rows, now=now)
    assert len(ids) == 2 and all(r["id"] == i for r, i in zip(rows, ids, strict=True))
    stored = RefundRequest.objects.get(pk=ids[0])
    assert stored.status == Status.SUBMITTED and stored.override is False and stored.redirect_instructions == {}
    assert stored.facts["order"]["id"] == orders[0].external_id and stored.updated_at >= now
    again = [dict(rows[0], public_id="RR-000000000001")]
    again[0].pop("id")
    with pytest.raises(IntegrityError), transaction.atomic():  # the order already has an open request
        insert_rows(RefundRequest, again, now=now)
    assert RefundRequest.objects.count() == 2

"""Published policy versions: validated and tested before publishing, never changed, chosen per the
setting, diffed, shown publicly, and announced by email when the change is major."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from refunddesk.core.errors import ValidationError
from refunddesk.core.services import api_key_create
from refunddesk.policies.models import ImmutableVersionError, PolicyVersion
from refunddesk.policies.selectors import versions_diff
from refunddesk.policies.services import policy_publish, version_for_order
from refunddesk.refunds import services as rs
from tests.factories import OrderFactory, UsageFactory
from tests.tasks import run_tasks

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
VPN = (ROOT / "policies" / "subscription-vpn.yaml").read_text(encoding="utf-8")
VPN_CASES = (ROOT / "policies" / "subscription-vpn.cases.yaml").read_text(encoding="utf-8")
STD = (ROOT / "policies" / "standard-14-day.yaml").read_text(encoding="utf-8")
STD_CASES = (ROOT / "policies" / "standard-14-day.cases.yaml").read_text(encoding="utf-8")


def bump(document: str, version: int) -> str:
    """The document as a later version: `version` counts from the document's own (bump(VPN, 2) is
    the version after the shipped one, whatever number the shipped one has)."""
    import re

    own = int(re.search(r"(?m)^version: (\d+)", document).group(1))
    return re.sub(r"(?m)^version: \d+", f"version: {own + version - 1}", document, count=1)


def test_a_document_whose_cases_fail_is_not_published():
    broken_cases = VPN_CASES.replace("outcome: approve", "outcome: reject", 1)
    with pytest.raises(ValidationError) as err:
        policy_publish(document=VPN, cases=broken_cases)
    assert err.value.field == "cases"
    assert not PolicyVersion.objects.exists()


def test_an_invalid_document_is_not_published():
    with pytest.raises(ValidationError, match="clause"):
        policy_publish(document=VPN.replace("condition:", "condition: ((", 1), cases=VPN_CASES)
    assert not PolicyVersion.objects.exists()


def test_published_versions_never_change_and_versions_are_unique():
    v1 = policy_publish(document=VPN, cases=VPN_CASES)
    v1.change_note = "rewritten"
    with pytest.raises(ImmutableVersionError):
        v1.save()
    with pytest.raises(ImmutableVersionError):
        v1.delete()
    with pytest.raises(ValidationError) as err:
        policy_publish(document=VPN, cases=VPN_CASES)
    assert err.value.field == "version"


def test_the_version_in_force_at_purchase_decides_by_default(customer, settings):
    now = timezone.now()
    old = policy_publish(document=VPN, cases=VPN_CASES, effective_at=now - dt.timedelta(days=100))
    new = policy_publish(document=bump(VPN, 2), cases=VPN_CASES, effective_at=now - dt.timedelta(days=1))
    assert version_for_order(purchased_at=now - dt.timedelta(days=3), now=now) == old
    settings.REFUNDDESK_POLICY_VERSION_RULE = "at_request"
    assert version_for_order(purchased_at=now - dt.timedelta(days=3), now=now) == new


def test_every_decision_records_its_version(customer):
    version = policy_publish(
        document=VPN, cases=VPN_CASES, effective_at=timezone.now() - dt.timedelta(days=30)
    )
    order = OrderFactory(customer=customer)
    UsageFactory(order=order)
    req = rs.refund_request_submit(
        customer=customer, order_number=order.external_id, reason="technical_issue"
    )
    assert req.policy_version == version and req.policy_clause and req.policy_trace


def test_same_facts_same_version_same_decision(customer):
    policy_publish(document=VPN, cases=VPN_CASES, effective_at=timezone.now() - dt.timedelta(days=30))
    client = Client(headers={"Authorization": f"Bearer {api_key_create(name='t')[1]}"})
    facts = json.loads(json.dumps(yaml_defaults()))
    answers = {
        json.dumps(
            client.post(
                "/api/v1/policy/evaluate", data=json.dumps({"facts": facts}), content_type="application/json"
            ).json(),
            sort_keys=True,
        )
        for _ in range(5)
    }
    assert len(answers) == 1
    decision = json.loads(answers.pop())
    assert decision["policy"]["id"] == "subscription-vpn" and decision["outcome"] in (
        "approve",
        "reject",
        "review",
        "redirect",
    )


def yaml_defaults() -> dict:
    import yaml

    return yaml.safe_load(VPN_CASES)["defaults"]


def test_api_shows_the_version_in_force(customer):
    policy_publish(document=VPN, cases=VPN_CASES, effective_at=timezone.now() - dt.timedelta(days=1))
    client = Client(headers={"Authorization": f"Bearer {api_key_create(name='t')[1]}"})
    body = client.get("/api/v1/policy").json()
    assert body["id"] == "subscription-vpn" and body["clauses"][0]["id"]
    assert Client().get("/api/v1/policy").status_code == 401


def test_diff_between_versions():
    a = policy_publish(document=VPN, cases=VPN_CASES, effective_at=timezone.now() - dt.timedelta(days=10))
    changed = bump(VPN, 2).replace("review_business_days: 3", "review_business_days: 2", 1)
    b = policy_publish(document=changed, cases=VPN_CASES, effective_at=timezone.now() - dt.timedelta(days=1))
    diff = versions_diff(old=a, new=b)
    assert not diff.added and not diff.removed and not diff.changed and not diff.reordered
    assert diff.settings_changed == ["review_business_days"]
    assert any(line.startswith("+review_business_days: 2") for line in diff.text)
    assert any(line.startswith("-review_business_days: 3") for line in diff.text)


def test_the_public_page_shows_the_policy_in_force_in_both_languages():
    policy_publish(document=VPN, cases=VPN_CASES, effective_at=timezone.now() - dt.timedelta(days=10))
    v2 = policy_publish(
        document=bump(VPN, 2), cases=VPN_CASES, effective_at=timezone.now() - dt.timedelta(days=1)
    )
    zh = Client(headers={"Accept-Language": "zh-hans"}).get("/policy/")
    en = Client(headers={"Accept-Language": "en"}).get("/policy/")
    assert zh.status_code == en.status_code == 200
    assert v2.title_zh in zh.content.decode() and v2.title_en in en.content.decode()
    # every clause, in its words (its id is for staff: /policy/versions/N/clauses/)
    assert "A continuous outage of 72 hours or more" in en.content.decode()
    assert "major-outage" not in en.content.decode()
    assert Client().get(f"/policy/versions/{v2.pk - 1}/").status_code == 200


def test_a_major_change_emails_customers_with_an_active_order_in_their_language(customer):
    from tests.factories import CustomerFactory

    OrderFactory(customer=customer)  # active (bought 2 days ago, 30-day plan)
    zh_customer = CustomerFactory(language="zh-hans")
    OrderFactory(customer=zh_customer)
    lapsed = CustomerFactory()
    OrderFactory(customer=lapsed, purchased_at=timezone.now() - dt.timedelta(days=90))
    policy_publish(document=VPN, cases=VPN_CASES, effective_at=timezone.now() - dt.timedelta(days=10))
    run_tasks()
    assert mail.outbox == []  # not a major change
    policy_publish(document=bump(VPN, 2), cases=VPN_CASES, major_change=True, change_note="Longer windows")
    run_tasks()
    to = {m.to[0]: m for m in mail.outbox}
    assert set(to) == {customer.email, zh_customer.email}
    assert "refund policy" in to[customer.email].subject
    assert "退款政策" in to[zh_customer.email].subject


def test_both_shipped_policies_publish():
    policy_publish(document=VPN, cases=VPN_CASES)
    policy_publish(document=STD, cases=STD_CASES)
    assert PolicyVersion.objects.count() == 2

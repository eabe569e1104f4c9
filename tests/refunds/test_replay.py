"""What-if replay (issue 20): a draft decided again over past requests from the facts stored at submission."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from refunddesk.policies.models import PolicyVersion
from refunddesk.policies.services import policy_publish
from refunddesk.refunds import services as s
from refunddesk.refunds.replay import replay_document
from tests.factories import CustomerFactory, OrderFactory, PlanFactory, UsageFactory

pytestmark = pytest.mark.django_db
POLICY = Path(__file__).with_name("policy.yaml")
CASES = POLICY.with_name("policy.cases.yaml").read_text(encoding="utf-8")
# the draft tightens one clause: a customer saying "charged twice" is no longer enough, the charge must repeat
TIGHTENED = (POLICY.read_text(encoding="utf-8").replace("version: 1", "version: 2")
             .replace('condition: charge.duplicate || request.reason == "duplicate_charge"',
                      "condition: charge.duplicate"))


def _submit(reason: str, *, amount: int = 3000, currency: str = "CNY", customer=None, plan=None, **order):
    customer = customer or CustomerFactory()
    o = OrderFactory(customer=customer, amount_minor=amount, currency=currency, plan=plan or PlanFactory(), **order)
    UsageFactory(order=o)
    return s.refund_request_submit(customer=customer, order_number=o.external_id, reason=reason)


@pytest.fixture
def history(published_policy):
    """Five decided requests: two approved only because the customer said "charged twice" (CNY 30.00 and
    USD 12.34), one real duplicate charge (CNY 30.00, approved either way), a rejection and a review."""
    said_cny = _submit("duplicate_charge", amount=3000)
    said_usd = _submit("duplicate_charge", amount=1234, currency="USD")
    customer, plan = CustomerFactory(), PlanFactory()
    first = OrderFactory(customer=customer, plan=plan, purchased_at=timezone.now() - dt.timedelta(hours=30))
    UsageFactory(order=first)
    real = _submit("technical_issue", customer=customer, plan=plan,
                   purchased_at=timezone.now() - dt.timedelta(hours=20))
    rejected = _submit("changed_mind")
    reviewed = _submit("not_satisfied")
    assert [r.policy_outcome for r in (said_cny, said_usd, real, rejected, reviewed)] == [
        "approve", "approve", "approve", "reject", "review"]
    return {"said_cny": said_cny, "said_usd": said_usd, "real": real}


def test_a_draft_that_tightens_one_clause_names_exactly_the_requests_that_change(history):
    result = replay_document(document=TIGHTENED).to_json()
    assert result["replayed"] == 5
    assert result["counts"]["before"] == {"approve": 3, "reject": 1, "review": 1, "redirect": 0}
    assert result["counts"]["after"] == {"approve": 1, "reject": 1, "review": 3, "redirect": 0}
    assert [(g["old_clause"], g["new_clause"], g["count"]) for g in result["changes"]] == [
        ("duplicate-charge", "default", 2)]
    changed = {r["request"] for r in result["changes"][0]["requests"]}
    assert changed == {history["said_cny"].public_id, history["said_usd"].public_id}
    links = {r["url"] for r in result["changes"][0]["requests"]}
    assert f"/console/requests/{history['said_cny'].public_id}/" in links
    money = {m["currency"]: m for m in result["money"]}
    assert (money["CNY"]["before_minor"], money["CNY"]["after_minor"], money["CNY"]["difference"]) == (
        6000, 3000, "-30.00")
    assert (money["USD"]["before_minor"], money["USD"]["after_minor"], money["USD"]["difference_minor"]) == (
        1234, 0, -1234)
    assert result["unevaluable"] == []


def test_publishing_the_draft_stores_its_replay_with_the_version(history):
    version = policy_publish(document=TIGHTENED, cases=CASES.replace("policy: workflow-test", "policy: workflow-test"))
    stored = PolicyVersion.objects.get(pk=version.pk).replay
    assert stored["changed"] == 2 and stored["money"][0]["difference_minor"] == -3000


def test_a_request_decided_before_a_fact_existed_is_named_not_guessed(history):
    draft = TIGHTENED.replace("condition: customer.tos_violation",
                              "condition: customer.tos_violation || usage.since_request_days > 3.0")
    for req in (history["said_cny"],):  # a request stored before the contract had the fact
        facts = dict(req.facts)
        facts["usage"] = {k: v for k, v in facts["usage"].items() if not k.startswith("since_request")}
        type(req).objects.filter(pk=req.pk).update(facts=facts)
    result = replay_document(document=draft).to_json()
    named = {u["request"]: u["fact"] for u in result["unevaluable"]}
    assert named.get(history["said_cny"].public_id) == "usage.since_request_days"
    assert result["replayed"] + len(result["unevaluable"]) == 5


def test_the_command_and_the_api_answer_the_same_replay(history, api, tmp_path):
    draft = tmp_path / "draft.yaml"
    draft.write_text(TIGHTENED, encoding="utf-8")
    out = StringIO()
    call_command("policy", "replay", str(draft), "--since", "2020-01-01", "--json", stdout=out)
    from_cli = json.loads(out.getvalue())
    answer = api.post("/api/v1/policy/replay", data=json.dumps({"document": TIGHTENED, "since": "2020-01-01"}),
                      content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["money"] == from_cli["money"] and from_cli["changed"] == 2
    # a future --since replays nothing
    out = StringIO()
    call_command("policy", "replay", str(draft), "--since", "2999-01-01", stdout=out)
    assert "0 requests" in out.getvalue()


def test_the_api_refuses_a_draft_that_does_not_load_in_the_error_shape(api):
    answer = api.post("/api/v1/policy/replay", data=json.dumps({"document": "id: [", "since": "2020-01-01"}),
                      content_type="application/json", headers={"Accept-Language": "zh-Hans"})
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "document"


def test_the_policy_editor_replays_inline_and_a_large_replay_runs_with_a_progress_bar(history, settings):
    from refunddesk.core import roles
    from tests.console.conftest import client_for
    from tests.factories import UserFactory
    from tests.tasks import run_tasks

    owner = UserFactory(username="owner_r", is_staff=True)
    owner.groups.set(__import__("django.contrib.auth.models", fromlist=["Group"]).Group.objects.filter(
        name=roles.POLICY_OWNER))
    client = client_for(owner)
    form = {"document": TIGHTENED, "cases": CASES, "action": "replay", "replay-since": "2020-01-01"}
    html = client.post("/console/policy/", form).content.decode()
    assert "duplicate-charge → default" in html and history["said_usd"].public_id in html and "-12.34" in html

    settings.REFUNDDESK_REPLAY_INLINE_LIMIT = 2
    response = client.post("/console/policy/", form)
    assert response.status_code == 302 and "/console/policy/replays/" in response["Location"]
    waiting = client.get(response["Location"]).content.decode()
    assert "<progress" in waiting and 'http-equiv="refresh"' in waiting
    run_tasks()
    done = client.get(response["Location"]).content.decode()
    assert "<progress" not in done and history["said_cny"].public_id in done and "-30.00" in done

    # publishing the same text stores that run's summary and shows it beside the diff
    response = client.post("/console/policy/", {"document": TIGHTENED, "cases": CASES, "action": "publish"})
    assert response.status_code == 302
    version = PolicyVersion.objects.get(version="2")
    assert version.replay["changed"] == 2
    page = client.get(response["Location"]).content.decode()
    assert "What changed since version 1" in page and "duplicate-charge → default" in page


@pytest.mark.parametrize(("language", "one", "two"), [
    ("en", "submission: 1 request, 0 would change.", "submission: 2 requests, 1 would change."),
    ("zh-hans", "共 1 个申请，其中 0 个结果会改变。", "共 2 个申请，其中 1 个结果会改变。"),
])
def test_the_replay_summary_counts_one_request_in_the_singular(language, one, two):
    """"1 request", never "1 requests": the same kind as the reports' counts (newcomer's report, 2026-11-29)."""
    from django.template.loader import render_to_string
    from django.utils import translation

    empty = {"counts": {"before": {}, "after": {}}, "money": [], "changes": [], "unevaluable": []}
    with translation.override(language):
        assert one in render_to_string("policies/_replay.html", {"replay": {**empty, "replayed": 1, "changed": 0}})
        assert two in render_to_string("policies/_replay.html", {"replay": {**empty, "replayed": 2, "changed": 1}})

"""A plan keeps its price history (issue 13 item 6; docs/architecture.md, money rule 4): plan_upsert records each change
of a list price, per currency, from when it takes effect; the history is only added to."""

from __future__ import annotations

import datetime as dt
import importlib
import json

import pytest
from django.apps import apps
from django.utils import timezone

from refunddesk.billing.models import Plan, PlanPrice
from refunddesk.billing.services import plan_prices_at, plan_upsert

pytestmark = pytest.mark.django_db
URL = "/api/v1/plans/monthly"
D = dt.timedelta(days=1)


def put(client, body: dict):
    return client.put(URL, data=json.dumps(body), content_type="application/json")


def body(price: str | None = "30.00", currency: str | None = "CNY", **extra) -> dict:
    return {"name": "Monthly", "period_days": 30, "refund_window_days": 7, "trial_hours": 24, "price": price,
            "currency": currency, **extra}


def history() -> list[tuple[str, int | None]]:
    return list(PlanPrice.objects.order_by("effective_from", "currency").values_list("currency", "price_minor"))


def test_each_change_of_price_is_recorded_once(api):
    first = put(api, body("30.00"))
    assert first.status_code == 201
    assert first.json()["price"] == "30.00" and [p["price"] for p in first.json()["price_history"]] == ["30.00"]
    plan = Plan.objects.get()
    updated_at = plan.updated_at
    assert put(api, body("30.00")).json() == first.json()  # the same PUT again: nothing written
    assert Plan.objects.get().updated_at == updated_at and history() == [("CNY", 3000)]
    raised = put(api, body("35.00"))
    assert raised.status_code == 200 and raised.json()["price"] == "35.00"
    assert history() == [("CNY", 3000), ("CNY", 3500)]
    entries = list(PlanPrice.objects.order_by("effective_from"))
    assert plan_prices_at(plan=plan, at=entries[1].effective_from - dt.timedelta(microseconds=1)) == {"CNY": 3000}
    assert plan_prices_at(plan=plan, at=timezone.now()) == {"CNY": 3500}
    assert plan_prices_at(plan=plan, at=entries[0].effective_from - D) == {}


def test_prices_in_several_currencies_and_a_withdrawn_one(api):
    since = timezone.now() - 30 * D
    r = put(api, body("30.00", prices=[{"price": "5.00", "currency": "USD"}, {"price": "600", "currency": "JPY"}],
                      price_effective_from=since.isoformat()))
    assert r.status_code == 201, r.content
    assert sorted(history()) == [("CNY", 3000), ("JPY", 600), ("USD", 500)]
    r = put(api, body("30.00", prices=[{"price": "5.50", "currency": "USD"}]))  # JPY no longer sold
    assert r.status_code == 200, r.content
    plan = Plan.objects.get()
    assert plan_prices_at(plan=plan, at=timezone.now()) == {"CNY": 3000, "JPY": None, "USD": 550}
    assert plan_prices_at(plan=plan, at=since + D) == {"CNY": 3000, "JPY": 600, "USD": 500}
    r = put(api, body(None, None))  # no list price at all any more
    assert r.status_code == 200 and r.json()["price"] is None
    assert plan_prices_at(plan=plan, at=timezone.now()) == {"CNY": None, "JPY": None, "USD": None}


@pytest.mark.parametrize("extra, field, status", [
    ({"prices": [{"price": "5.00", "currency": "CNY"}]}, "prices[0].currency", 422),   # CNY twice
    ({"prices": [{"price": "5.001", "currency": "USD"}]}, "prices[0].price", 422),     # too precise
    ({"prices": [{"price": "-5", "currency": "USD"}]}, "prices[0].price", 422),
    ({"prices": [{"price": "5", "currency": "usd"}]}, "prices[0].currency", 422),
    ({"price_effective_from": "2020-01-01T00:00:00"}, "price_effective_from", 422),   # no time zone
    ({"price_effective_from": (timezone.now() + 2 * D).isoformat()}, "price_effective_from", 422),
])
def test_bad_prices_are_refused_naming_the_field(api, extra, field, status):
    r = put(api, body("30.00", **extra))
    assert r.status_code == status, r.content
    assert r.json()["error"]["field"] == field
    assert not Plan.objects.exists() and not PlanPrice.objects.exists()


def test_the_history_is_only_added_to(api):
    """A change dated before the latest one would change the price behind orders already bought: 409."""
    now = timezone.now()
    assert put(api, body("30.00", price_effective_from=(now - 60 * D).isoformat())).status_code == 201
    assert put(api, body("35.00", price_effective_from=(now - 10 * D).isoformat())).status_code == 200
    r = put(api, body("25.00", price_effective_from=(now - 30 * D).isoformat(), name="Renamed"))
    assert r.status_code == 409, r.content
    assert r.json()["error"]["field"] == "price_effective_from" and "price_due" in r.json()["error"]["message"]
    assert Plan.objects.get().name == "Monthly" and history() == [("CNY", 3000), ("CNY", 3500)]  # nothing written
    # a late replay of the first PUT changes nothing and does not bring the old price back
    replay = put(api, body("30.00", price_effective_from=(now - 60 * D).isoformat()))
    assert replay.status_code == 200 and replay.json()["price"] == "35.00"
    assert history() == [("CNY", 3000), ("CNY", 3500)]


def test_existing_list_prices_become_history_from_the_plans_last_change():
    """The data migration: what a plan cost before it is unknown, so its price holds from `updated_at`."""
    migration = importlib.import_module("refunddesk.billing.migrations.0004_plan_prices_from_list_prices")
    priced, _ = plan_upsert(external_id="a", name="A", period_days=30, refund_window_days=7, price="30", currency="CNY")
    unpriced, _ = plan_upsert(external_id="b", name="B", period_days=30, refund_window_days=7)
    PlanPrice.objects.all().delete()  # as before the migration
    migration.forwards(apps, None)
    priced.refresh_from_db()
    assert list(PlanPrice.objects.values_list("plan_id", "currency", "price_minor", "effective_from")) == [
        (priced.pk, "CNY", 3000, priced.updated_at)]
    assert not PlanPrice.objects.filter(plan=unpriced).exists()


def test_the_admin_shows_the_history_and_leaves_prices_to_the_import(api, admin_client):
    put(api, body("30.00"))
    plan = Plan.objects.get()
    html = admin_client.get(f"/admin/billing/plan/{plan.pk}/change/").content.decode()
    assert 'name="price_minor"' not in html and 'name="name"' in html
    assert "3000" in html  # the history, read-only

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from refunddesk.status import services
from refunddesk.status.models import Region

ROOT = Path(__file__).resolve().parents[2]
VPN_POLICY = ROOT / "policies" / "subscription-vpn.yaml"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def regions(db):
    east, _ = services.region_upsert(code="cn-east", name_en="China East", name_zh="华东", position=1)
    north, _ = services.region_upsert(code="cn-north", name_en="China North", name_zh="华北", position=2)
    europe, _ = services.region_upsert(code="eu-west", name_en="Europe West", name_zh="欧洲西部", position=3)
    return {"cn-east": east, "cn-north": north, "eu-west": europe}


@pytest.fixture
def vpn_policy(db):
    """The shipped VPN policy (72-hour outage clause), in force for every order of the tests."""
    from refunddesk.policies.services import policy_publish

    return policy_publish(
        document=VPN_POLICY.read_text(encoding="utf-8"),
        cases=VPN_POLICY.with_name("subscription-vpn.cases.yaml").read_text(encoding="utf-8"),
        effective_at=timezone.now() - dt.timedelta(days=800),
    )


def incident(regions=("cn-east",), *, hours: float, ended_hours_ago: float | None = 0.0, severity="outage",
             force_majeure=False, now=None, **kw):
    """An incident of `hours` that ended `ended_hours_ago` hours ago (None: still going on)."""
    now = now or timezone.now()
    end = None if ended_hours_ago is None else now - dt.timedelta(hours=ended_hours_ago)
    start = (end or now) - dt.timedelta(hours=hours)
    inc, _ = services.incident_open(
        title_en=kw.pop("title_en", f"Outage of {hours}h"), title_zh=kw.pop("title_zh", f"{hours}小时中断"),
        regions=list(regions), severity=severity, started_at=start, ended_at=end, force_majeure=force_majeure,
        force_majeure_note="Typhoon landfall cut the submarine cable" if force_majeure else "", now=now, **kw)
    return inc


@pytest.fixture
def make_incident(regions):
    return incident


def region_codes() -> list[str]:
    return list(Region.objects.values_list("code", flat=True))

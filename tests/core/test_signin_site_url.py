"""Issue 14.3: SITE_URL follows PORT by default, comes from settings behind a proxy, and a start-up check
refuses an obviously wrong value in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _settings_site_url(settings_module: str, **env) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "PORT")}
    environ.update(env, DJANGO_SETTINGS_MODULE=settings_module)
    code = "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_site_url_follows_port_and_is_taken_from_settings_behind_a_proxy():
    assert _settings_site_url("config.settings.base", PORT="9123") == "http://127.0.0.1:9123"
    assert _settings_site_url("config.settings.base") == "http://127.0.0.1:8000"
    assert _settings_site_url("config.settings.base", PORT="9123",
                              SITE_URL="https://refunds.example.com/") == "https://refunds.example.com"


def _check(value: str, production: bool) -> set[str]:
    from refunddesk.core.site_url import site_url_problems

    return {m.id for m in site_url_problems(value, production=production)}


@pytest.mark.parametrize("value, production, ids", [
    ("http://127.0.0.1:8000", False, set()),
    ("https://refunds.example.com", True, set()),
    ("refunds.example.com", True, {"refunddesk.E010"}),
    ("ftp://refunds.example.com", False, {"refunddesk.E010"}),
    ("https://refunds.example.com/refunds", True, {"refunddesk.E011"}),
    ("https://refunds.example.com?x=1", False, {"refunddesk.E011"}),
    ("https://admin:pw@refunds.example.com", True, {"refunddesk.E012"}),
    ("http://127.0.0.1:8000", True, {"refunddesk.E013"}),
    ("https://localhost", True, {"refunddesk.E013"}),
    ("http://0.0.0.0:8000", True, {"refunddesk.E013"}),
    ("http://refunds.example.com", True, {"refunddesk.W010"}),
])
def test_the_start_up_check(value, production, ids):
    assert _check(value, production) == ids


def test_the_check_runs_at_start_up_and_refuses():
    environ = {k: v for k, v in os.environ.items() if k != "PORT"}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings.test", SITE_URL="ftp://x.example")
    out = subprocess.run([sys.executable, "-m", "refunddesk", "check"], cwd=ROOT, env=environ,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "refunddesk.E010" in out.stderr + out.stdout

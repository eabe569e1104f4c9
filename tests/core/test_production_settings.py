"""config.settings.production refuses what is unsafe at start-up, and serves only over HTTPS (issue 15.6).

Each case starts a real Python process with DJANGO_SETTINGS_MODULE=config.settings.production and the
environment an operator would give it."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG = secrets.token_urlsafe(50)
HOOK = "https://shop.example/refunddesk-hooks"
HOW = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'


def production_env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REFUNDDESK_", "SECRET_KEY", "DEBUG", "SITE_URL", "ALLOWED_HOSTS", "SECURE_"))
           and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}  # set by the browser tests' conftest; never in production
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", REFUNDDESK_VAR_DIR=str(tmp_path),
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", STATIC_ROOT=str(tmp_path / "static"),
               SITE_URL="https://refunds.example.com", ALLOWED_HOSTS="refunds.example.com")
    env.update(values)
    return env


def start(tmp_path: Path, code: str = "import django; django.setup(); print('started')", **values: str):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=production_env(tmp_path, **values),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("values", "named"), [
    ({}, "SECRET_KEY"),                                                     # the development default
    ({"SECRET_KEY": "x"}, "SECRET_KEY"),                                    # the example
    ({"SECRET_KEY": "ab" * 40}, "SECRET_KEY"),                              # long, but two characters
    ({"SECRET_KEY": "django-insecure-" + STRONG}, "SECRET_KEY"),            # what startproject writes
    ({"SECRET_KEY": STRONG, "SECRET_KEY_FALLBACKS": "x"}, "SECRET_KEY_FALLBACKS[0]"),  # an old key kept
    ({"SECRET_KEY": STRONG, "REFUNDDESK_MERCHANT_WEBHOOK_URL": HOOK},
     "REFUNDDESK_MERCHANT_WEBHOOK_SECRET"),                                 # change-me: forged service.terminate
    ({"SECRET_KEY": STRONG, "REFUNDDESK_MERCHANT_WEBHOOK_URL": HOOK, "REFUNDDESK_MERCHANT_WEBHOOK_SECRET": "s3cret"},
     "REFUNDDESK_MERCHANT_WEBHOOK_SECRET"),
    ({"SECRET_KEY": STRONG, "REFUNDDESK_GOOGLE_PUSH_TOKEN": "token"}, "REFUNDDESK_GOOGLE_PUSH_TOKEN"),
])
def test_unsafe_secrets_are_refused_at_start_up_saying_how_to_make_one(tmp_path, values, named):
    result = start(tmp_path, **values)
    assert result.returncode != 0 and "started" not in result.stdout
    assert "ImproperlyConfigured" in result.stderr and f"{named} is not safe" in result.stderr, result.stderr[-2000:]
    assert HOW in result.stderr


def test_the_crash_switch_of_the_tests_is_refused(tmp_path):
    result = start(tmp_path, SECRET_KEY=STRONG, REFUNDDESK_CRASH_AT="after_send")
    assert result.returncode != 0 and "REFUNDDESK_CRASH_AT is set" in result.stderr


def test_every_problem_is_listed_at_once(tmp_path):
    result = start(tmp_path, SECRET_KEY="x", REFUNDDESK_MERCHANT_WEBHOOK_URL=HOOK)
    assert "SECRET_KEY is not safe" in result.stderr and "REFUNDDESK_MERCHANT_WEBHOOK_SECRET is not safe" in result.stderr


def test_safe_settings_start_and_the_unused_webhook_secret_does_not_matter(tmp_path):
    assert start(tmp_path, SECRET_KEY=STRONG).stdout.strip() == "started"
    good = start(tmp_path, SECRET_KEY=STRONG, REFUNDDESK_MERCHANT_WEBHOOK_URL=HOOK,
                 REFUNDDESK_MERCHANT_WEBHOOK_SECRET=secrets.token_urlsafe(32))
    assert good.stdout.strip() == "started", good.stderr[-2000:]


def test_check_deploy_is_clean(tmp_path):
    """With what several nodes share (Redis, an object store, PostgreSQL: tests/production/test_deploy_checks.py
    shows the warnings otherwise); `check` reads the settings and connects to none of them."""
    shared = {"CACHE_URL": "redis://127.0.0.1:6379/0", "REFUNDDESK_S3_BUCKET": "evidence",
              "DATABASE_URL": "postgres://rd@127.0.0.1:5432/rd"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
        env=production_env(tmp_path, SECRET_KEY=STRONG, REFUNDDESK_MERCHANT_WEBHOOK_URL=HOOK,
                           REFUNDDESK_MERCHANT_WEBHOOK_SECRET=secrets.token_urlsafe(32), **shared),
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


REQUESTS = """
import json, django
django.setup()
from django.test import Client
host = {"HTTP_HOST": "refunds.example.com"}
https = {**host, "HTTP_X_FORWARDED_PROTO": "https"}
client = Client()
out = {}
r = client.get("/accounts/login/", **host)
out["plain"] = [r.status_code, r.get("Location")]
r = client.get("/accounts/login/", **https)
out["https"] = [r.status_code, r.get("Strict-Transport-Security"), r.get("Content-Security-Policy"),
                r.cookies["csrftoken"]["secure"] if "csrftoken" in r.cookies else None]
r = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, **https)
out["language_cookie_secure"] = r.cookies["django_language"]["secure"]
r = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en", **https)
out["404"] = [r.status_code, "We cannot find that page" in r.content.decode(), "URLconf" in r.content.decode()]
r = client.get("/healthz", **host)
out["healthz"] = r.status_code
print(json.dumps(out))
"""


def test_https_only_behind_the_proxy_header(tmp_path):
    env = production_env(tmp_path, SECRET_KEY=STRONG)
    collected = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=300)
    assert collected.returncode == 0, collected.stderr[-2000:]
    result = start(tmp_path, REQUESTS, SECRET_KEY=STRONG)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["plain"] == [301, "https://refunds.example.com/accounts/login/"]
    status, hsts, csp, csrf_secure = out["https"]
    assert status == 200 and hsts == "max-age=31536000; includeSubDomains; preload"
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and csrf_secure is True
    assert out["language_cookie_secure"] is True
    assert out["404"] == [404, True, False]
    assert out["healthz"] != 301  # load balancers probe over plain HTTP from inside the network

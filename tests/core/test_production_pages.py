"""What a visitor sees when something goes wrong (issue 15.3): `make run` serves without DEBUG, so a wrong
address is the branded 404 page in the visitor's language, never Django's yellow page listing every URL
pattern; static files are still served; 403, CSRF failures and 500s are branded pages in both languages."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import path
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, language: str = "en") -> tuple[int, str, dict]:
    request = urllib.request.Request(url, headers={"Accept-Language": language})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


@pytest.fixture
def served(tmp_path):
    """`refunddesk serve --no-worker` as `make run` starts it: the laptop settings, DEBUG not set."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_SETTINGS_MODULE")}
    env.update(REFUNDDESK_VAR_DIR=str(tmp_path), STATIC_ROOT=str(tmp_path / "static"), PORT=str(port),
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", WEB_CONCURRENCY="1")
    proc = subprocess.Popen([sys.executable, "-m", "refunddesk", "serve", "--no-worker", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # until it answers (collectstatic first), at most a minute
            try:
                _get(base + "/static/refunddesk/app.css")
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"refunddesk serve exited with {proc.returncode}")
                time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_make_run_shows_the_branded_404_page_in_both_languages_and_serves_static_files(served):
    status, html, _ = _get(served + "/no-such-page/", "en")
    assert status == 404
    assert "We cannot find that page" in html and 'class="error-page' in html
    assert "URLconf" not in html and "DEBUG = True" not in html and "admin/" not in html
    status, html, _ = _get(served + "/portal/requests/RR-NOPE/evidence/1/x/", "zh-Hans")
    assert status == 404 and "找不到该页面" in html and '<html lang="zh-hans">' in html
    status, css, headers = _get(served + "/static/refunddesk/app.css")
    assert status == 200 and ".error-page" in css and headers["Content-Type"].startswith("text/css")


# --- the other error pages, through Django's handlers ------------------------------------------------


def _boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", _boom)]


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "text", "lang"), [("en", "Something went wrong on our side", "en"),
                                                        ("zh-hans", "我们这边出了问题", "zh-hans")])
def test_a_server_error_is_the_branded_page_in_the_visitors_language(language, text, lang):
    with override_settings(ROOT_URLCONF=__name__):
        response = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language).get("/boom/")
    translation.deactivate()
    html = response.content.decode()
    assert response.status_code == 500 and text in html and f'<html lang="{lang}">' in html
    assert "RuntimeError" not in html and "Traceback" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "text", "lang"), [("en", "This form has expired", "en"),
                                                        ("zh-hans", "表单已失效", "zh-hans")])
def test_a_form_from_elsewhere_or_expired_is_the_branded_page_in_the_visitors_language(language, text, lang):
    response = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE=language).post(
        "/accounts/login/", {"login": "someone@example.test", "password": "x"})
    translation.deactivate()
    html = response.content.decode()
    assert response.status_code == 403 and text in html and f'<html lang="{lang}">' in html
    assert 'class="topbar"' in html  # inside the site's layout: home, sign in, language
    assert "CSRF" not in html


@pytest.mark.django_db
def test_a_page_for_another_role_is_the_branded_403_page(customer):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(customer.user)
    response = client.get("/console/queue/")
    translation.deactivate()
    assert response.status_code == 403 and 'class="error-page' in response.content.decode()

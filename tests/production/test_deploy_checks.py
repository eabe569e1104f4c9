"""`refunddesk check --deploy` names what is not shared between nodes, and `refunddesk serve --production`
refuses to start until the production checks pass (issue 21.2, 21.3).

Real processes with the environment an operator gives them (tests/core/test_production_settings.py)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.core.test_production_settings import STRONG, production_env
from tests.production.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SHARED = {"CACHE_URL": "redis://127.0.0.1:6379/0", "REFUNDDESK_S3_BUCKET": "evidence",
          "REFUNDDESK_S3_ENDPOINT_URL": "http://127.0.0.1:9", "DATABASE_URL": "postgres://rd@127.0.0.1:5432/rd"}


def check_deploy(tmp_path: Path, **values: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "refunddesk", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=production_env(tmp_path, SECRET_KEY=STRONG, **values),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("values", "named", "says"), [
    ({"CACHE_URL": "locmem://"}, "refunddesk.E020", "not shared between the web processes and the worker"),
    ({"CACHE_URL": "file:///tmp/refunddesk-cache"}, "refunddesk.W021", "shared only by the processes of this machine"),
    ({"CACHE_URL": "db://"}, "refunddesk.W022", "counts by reading and then writing"),
    ({"REFUNDDESK_S3_BUCKET": ""}, "refunddesk.W023", "another machine cannot show them"),
    ({"DATABASE_URL": "sqlite:////tmp/refunddesk.sqlite3"}, "refunddesk.W024", "cannot share it"),
])
def test_check_deploy_names_what_other_nodes_would_not_share(tmp_path, values, named, says):
    result = check_deploy(tmp_path, **{**SHARED, **values})
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert named in out and says in out, out[-3000:]
    others = {"refunddesk.E020", "refunddesk.W021", "refunddesk.W022", "refunddesk.W023", "refunddesk.W024"} - {named}
    assert not any(other in out for other in others), out[-3000:]


def test_check_deploy_is_clean_with_redis_an_object_store_and_postgresql(tmp_path):
    result = check_deploy(tmp_path, **SHARED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_an_operator_of_one_machine_accepts_what_is_not_shared_by_name(tmp_path):
    result = check_deploy(tmp_path, **{**SHARED, "REFUNDDESK_S3_BUCKET": "", "CACHE_URL": "db://",
                                       "SILENCED_SYSTEM_CHECKS": "refunddesk.W022,refunddesk.W023"})
    assert result.returncode == 0, result.stdout + result.stderr


def serve_production(tmp_path: Path, *, env_values: dict, port: int) -> subprocess.Popen:
    log = (tmp_path / "serve.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "refunddesk", "serve", "--production", "--port", str(port)],
                            cwd=ROOT, env=production_env(tmp_path, **env_values), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def refused(tmp_path: Path, **values: str) -> str:
    proc = serve_production(tmp_path, env_values=values, port=free_port())
    assert proc.wait(timeout=120) != 0
    return (tmp_path / "serve.log").read_text(errors="replace")


def test_serve_production_refuses_an_unsafe_secret(tmp_path):
    out = refused(tmp_path, SECRET_KEY="x", **SHARED)
    assert "SECRET_KEY is not safe" in out, out[-3000:]


def test_serve_production_refuses_a_cache_each_process_keeps_to_itself(tmp_path):
    out = refused(tmp_path, SECRET_KEY=STRONG, **{**SHARED, "CACHE_URL": "locmem://"})
    assert "refunddesk.E020" in out and "CACHE_URL=redis://" in out, out[-3000:]
    assert "is serving" not in out


def test_serve_production_refuses_a_deploy_warning_nobody_accepted(tmp_path):
    out = refused(tmp_path, SECRET_KEY=STRONG, **{**SHARED, "SECURE_HSTS_SECONDS": "0"})
    assert "security.W004" in out, out[-3000:]  # Django's own: no HSTS


def test_serve_production_refuses_the_development_settings(tmp_path):
    out = refused(tmp_path, SECRET_KEY=STRONG, DJANGO_SETTINGS_MODULE="config.settings.base", **SHARED)
    assert "--production needs the production settings" in out, out[-3000:]


def test_serve_production_starts_when_the_checks_pass(tmp_path):
    port = free_port()
    values = {"SECRET_KEY": STRONG, **SHARED, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
              "SILENCED_SYSTEM_CHECKS": "refunddesk.W024",
              "REFUNDDESK_CALENDARS_DIR": str(tmp_path / "no-calendars")}  # next year missing: printed, not fatal
    subprocess.run([sys.executable, "-m", "refunddesk", "migrate", "-v0"], cwd=ROOT, check=True, timeout=300,
                   env=production_env(tmp_path, **values))
    proc = serve_production(tmp_path, env_values=values, port=port)
    try:
        end = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
            try:
                probe = urllib.request.Request(f"http://127.0.0.1:{port}/healthz/live",
                                               headers={"Host": "refunds.example.com"})
                with urllib.request.urlopen(probe, timeout=5) as r:
                    assert r.status == 200
                    break
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < end, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
                time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=40)
        if proc.poll() is None:
            proc.kill()

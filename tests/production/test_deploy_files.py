"""deploy/ is a deployment one can copy (issue 21.3): the environment template lists every setting, Debian's
nginx accepts the site configuration, the units and containers run commands that exist, and the Grafana
dashboard charts metrics /metrics really has."""

from __future__ import annotations

import configparser
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.test import Client

from tests.production.cluster import NGINX

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
READ = re.compile(r"""(?:env_(?:str|int|bool|list|cache|networks)\(|os\.environ\.get\()\s*["']([A-Z][A-Z0-9_]+)["']""")


def settings_read() -> set[str]:
    """Every environment variable the settings and refunddesk's code read."""
    names: set[str] = set()
    for path in [*(ROOT / "config").rglob("*.py"), *(ROOT / "refunddesk").rglob("*.py")]:
        names |= set(READ.findall(path.read_text(encoding="utf-8")))
    return names


def test_the_environment_template_lists_every_setting_with_its_meaning():
    template = (DEPLOY / "refunddesk.env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", template, flags=re.M))
    missing = settings_read() - listed
    assert not missing, f"deploy/refunddesk.env.example does not list {sorted(missing)}"
    lines = template.splitlines()
    for i, line in enumerate(lines):  # each setting is explained by the comment above it (or its group's)
        if re.match(r"^#? ?[A-Z][A-Z0-9_]+=", line):
            above = next(prev for prev in reversed(lines[:i]) if not re.match(r"^#? ?[A-Z][A-Z0-9_]+=", prev))
            assert above.startswith("# ") and len(above) > 10, f"no explanation above {line!r}"


def test_debian_nginx_accepts_the_site_configuration(tmp_path):
    if not NGINX:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run installs it)")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "refunds.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    site = (DEPLOY / "nginx" / "refunddesk.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/refunds.example.com/fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace("/etc/letsencrypt/live/refunds.example.com/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path};\n  proxy_temp_path {tmp_path};\n"
        f"  include {tmp_path}/site.conf;\n}}\n")
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                             "-e", str(tmp_path / "error.log")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _refunddesk_help(*command: str) -> str:
    result = subprocess.run([sys.executable, "-m", "refunddesk", *command, "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_systemd_units_run_commands_that_exist_and_restart():
    serve_help, worker_help = _refunddesk_help("serve"), _refunddesk_help("worker")
    for unit in ("refunddesk-web.service", "refunddesk-worker@.service"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(DEPLOY / "systemd" / unit)
        service = parser["Service"]
        assert service["Restart"] == "always" and service["EnvironmentFile"] == "/etc/refunddesk/refunddesk.env"
        command = service["ExecStart"].split()
        assert command[0] == "/opt/refunddesk/.venv/bin/refunddesk"
        flags = [part for part in command if part.startswith("--")]
        assert all(flag in (serve_help if command[1] == "serve" else worker_help) for flag in flags), flags
    assert "--production" in (DEPLOY / "systemd" / "refunddesk-web.service").read_text()


def test_the_compose_file_runs_the_image_with_the_shared_services():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    ours = {name: s for name, s in services.items() if s.get("image") == "refunddesk:latest"}
    assert {"web-1", "web-2", "worker-1", "worker-2", "migrate"} <= set(ours)
    for service in ours.values():
        env = service["environment"]
        assert env["CACHE_URL"].startswith("redis://") and env["REFUNDDESK_S3_BUCKET"]
        assert env["DATABASE_URL"].startswith("postgres://") and service["env_file"] == "refunddesk.env"
    assert ours["worker-1"]["command"] == ["refunddesk", "worker"]
    assert "serve --production" in (DEPLOY / "Dockerfile").read_text()


@pytest.mark.django_db
def test_the_grafana_dashboard_charts_metrics_that_exist(settings):
    settings.REFUNDDESK_METRICS_TOKEN = "token-for-the-dashboard-test-0123456789"
    Client().get("/status/")  # django-prometheus's request metrics exist once a request was answered
    from refunddesk.payments.metrics import GATEWAY_ERRORS, GATEWAY_SECONDS, WEBHOOKS_REFUSED

    GATEWAY_SECONDS.labels("sandbox", "refund").observe(0.01)  # so that each labelled family shows up
    GATEWAY_ERRORS.labels("sandbox", "refund", "declined").inc(0)
    WEBHOOKS_REFUSED.labels("stripe", "rejected").inc(0)
    body = Client().get("/metrics", headers={"Authorization": f"Bearer {settings.REFUNDDESK_METRICS_TOKEN}"})
    text = body.content.decode()
    exposed = set(re.findall(r"^([a-z_:]+)(?:\{| )", text, flags=re.M)) | {  # families with no sample yet too
        name + suffix for name in re.findall(r"^# TYPE ([a-z_:]+) ", text, flags=re.M)
        for suffix in ("", "_bucket", "_count", "_sum", "_total")}
    dashboard = json.loads((DEPLOY / "grafana" / "refunddesk.json").read_text())
    charted = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\b((?:refunddesk|django)_[a-z_]+)\b", target["expr"])}
    assert charted and not charted - exposed, sorted(charted - exposed)

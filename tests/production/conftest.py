"""Fixtures for production on several machines: an S3-compatible object store (moto's server mode, a real
HTTP server on 127.0.0.1 in its own process), Redis on 127.0.0.1:6379 (started by the machine and by
.ci/run), and helpers to run refunddesk's own processes against this test's database."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS = ("127.0.0.1", 6379)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class ObjectStore:
    """A bucket in the S3-compatible server: the environment a refunddesk process needs to use it."""

    endpoint: str
    bucket: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "REFUNDDESK_S3_BUCKET": self.bucket,
            "REFUNDDESK_S3_ENDPOINT_URL": self.endpoint,
            "REFUNDDESK_S3_REGION": "us-east-1",
            "REFUNDDESK_S3_ADDRESSING_STYLE": "path",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket)
        return [item["Key"] for item in listing.get("Contents", [])]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 server (`python -m moto.server`) on 127.0.0.1:<free port>, for the whole session."""
    pytest.importorskip("moto", reason="moto[server] (a dev dependency) is not installed")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"moto's server did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
def object_store(s3_server, monkeypatch, settings) -> ObjectStore:
    """A fresh private bucket, and this process's settings pointed at it as the environment says
    (config.env.env_storage: the settings read the environment once, at start-up)."""
    store = ObjectStore(endpoint=s3_server, bucket=f"evidence-{uuid.uuid4().hex[:12]}")
    store.client().create_bucket(Bucket=store.bucket)
    for name, value in store.env.items():
        monkeypatch.setenv(name, value)
    try:
        from config.env import env_storage
    except ImportError:  # code that knows no object store: the processes it starts ignore the variables too
        return store
    settings.STORAGES = {**settings.STORAGES, "default": env_storage()}
    return store


def redis_up() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(REDIS) == 0


@pytest.fixture
def redis_url() -> str:
    """A Redis database of its own on 127.0.0.1:6379 (emptied first); skipped when no Redis answers."""
    if not redis_up():
        pytest.skip("no Redis on 127.0.0.1:6379 (apt-get install redis-server; .ci/run starts it)")
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")  # each xdist process its own
    db = 8 + int(worker) % 8 if worker.isdigit() else 8
    redis.Redis(host=REDIS[0], port=REDIS[1], db=db).flushdb()
    return f"redis://{REDIS[0]}:{REDIS[1]}/{db}"


def node_dirs(tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of a node with a disk of its own (another machine's): its own REFUNDDESK_VAR_DIR, where the
    test settings keep uploads on disk (var/test-media), with this run's holiday schedules copied in."""
    import shutil

    from django.conf import settings

    var = tmp_path / name / "var"
    shutil.copytree(settings.REFUNDDESK_CALENDARS_DIR, var / "test-calendars", dirs_exist_ok=True)
    return {"REFUNDDESK_VAR_DIR": str(var), "MEDIA_ROOT": str(var / "test-media")}

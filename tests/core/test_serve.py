"""`refunddesk serve` keeps the site up when one of its processes dies (issue 15.1).

Real processes: `refunddesk serve` (supervisord, gunicorn, `refunddesk worker`) runs against this test's
own database (the SQLite file pytest-django made, or the PostgreSQL test database, committed data with
transaction=True) and a fake Stripe on 127.0.0.1. The test kills one child with SIGKILL while refunds
are in flight, keeps sending requests, and checks that every refund went out exactly once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from refunddesk.billing.models import Order
from refunddesk.core.models import WorkerHeartbeat
from refunddesk.payments import registry
from refunddesk.payments.models import Refund, RefundStatus
from refunddesk.refunds import services as rs
from tests.factories import OrderFactory
from tests.payments.conftest import serving
from tests.payments.fakes.stripe_fake import API_KEY, WEBHOOK_SECRET, StripeFake

ROOT = Path(__file__).resolve().parents[2]


def stripe_settings(url: str) -> dict:
    return {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET, "api_base": url, "timeout": 5}


@pytest.fixture
def stripe(settings):
    """A fake Stripe on 127.0.0.1, configured here (approvals check the gateway) and in `serve`'s processes."""
    with serving(StripeFake()) as fake:
        settings.REFUNDDESK_GATEWAYS = {**settings.REFUNDDESK_GATEWAYS, "stripe": stripe_settings(fake.url)}
        registry.reset()
        yield fake
    registry.reset()


def database_url() -> str:
    """The address of this test's database, for a subprocess."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "postgres") + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent:
                found.append(child)
                frontier.append(child)
    return found


def running(pid: int) -> bool:
    """True while process `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class Answer:
    path: str
    status: int | None  # None: no HTTP answer at all (connection refused or reset)
    error: str = ""
    retry_after: str = ""
    body: bytes = b""


@dataclass
class Serve:
    """`refunddesk serve` on 127.0.0.1:port, its output in a file."""

    port: int
    proc: subprocess.Popen
    log: Path
    answers: list[Answer] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self, tail: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-tail:]

    def request(self, path: str, *, method: str = "GET", body: dict | None = None, headers: dict | None = None,
                timeout: float = 30) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            **({"Content-Type": "application/json"} if data else {}), **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return Answer(path, response.status, body=response.read())
        except urllib.error.HTTPError as exc:
            return Answer(path, exc.code, retry_after=exc.headers.get("Retry-After") or "", body=exc.read())
        except OSError as exc:  # refused, reset, timed out: no HTTP answer
            return Answer(path, None, error=repr(exc))

    def wait_until_up(self, deadline: float = 60) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            assert self.proc.poll() is None, f"serve exited with {self.proc.returncode}:\n{self.output()}"
            if self.request("/healthz", timeout=5).status == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"serve did not come up in {deadline} s:\n{self.output()}")


@contextlib.contextmanager
def serve(tmp_path: Path, *, fake_url: str, extra_env: dict | None = None, args: tuple[str, ...] = ()):
    """Run `refunddesk serve` against this test's database until the block ends; then SIGTERM (and
    SIGKILL whatever is left after 40 s)."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "STATIC_ROOT": str(tmp_path / "static"),
        "REFUNDDESK_GATEWAYS_JSON": json.dumps({"stripe": stripe_settings(fake_url)}),
        "REFUNDDESK_REFUND_LEASE_SECONDS": "2",
        "REFUNDDESK_RECONCILE_SECONDS": "2",
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "refunddesk", "serve", "--port", str(port), *args], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    running = Serve(port=port, proc=proc, log=log)
    try:
        running.wait_until_up()
        yield running
    finally:
        family = [proc.pid, *children(proc.pid)]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
        for pid in family:  # anything left behind (the old serve leaves its children when it is killed)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class Traffic:
    """A thread sending GET requests round the given paths until stopped; every answer kept."""

    def __init__(self, site: Serve, paths: list[str], pause: float = 0.05):
        self.site, self.paths, self.pause = site, paths, pause
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            self.answers.append(self.site.request(self.paths[i % len(self.paths)], timeout=20))
            i += 1
            self._stop.wait(self.pause)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def worker_pid(*, other_than: int | None = None, deadline: float = 60) -> int:
    """The pid of the worker that beat most recently (waiting for one other than `other_than`)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
        if beat and beat.pid != other_than and os.path.exists(f"/proc/{beat.pid}"):
            return beat.pid
        time.sleep(0.2)
    raise AssertionError(f"no worker (other than {other_than}) beat within {deadline} s")


def approved_refunds(fake: StripeFake, customer, agent, n: int) -> list[tuple[Order, object]]:
    """n orders paid through the fake Stripe, each with a refund request approved in full (30.00 CNY)."""
    out = []
    for _ in range(n):
        charge = fake.add_charge(3000, "cny")
        order = OrderFactory(customer=customer, gateway="stripe", payment_method="card", gateway_charge_ref=charge.id)
        req = rs.refund_request_submit(customer=customer, order_number=order.external_id, reason="technical_issue")
        rs.refund_request_approve(public_id=req.public_id, user=agent, amount="30.00", reason="ok", clause="default")
        out.append((order, charge))
    return out


def wait_for_refunds(n: int, deadline: float, site: Serve) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if Refund.objects.filter(status=RefundStatus.SUCCEEDED).count() >= n:
            return
        time.sleep(0.3)
    states = list(Refund.objects.values_list("status", flat=True))
    raise AssertionError(f"not every refund succeeded within {deadline} s: {states}\n{site.output()}")


def assert_each_refunded_once(fake: StripeFake, paid: list[tuple[Order, object]]) -> None:
    assert fake.refund_count == len(paid), fake.refunds  # nothing doubled at the gateway
    for order, charge in paid:
        assert charge.refunded == 3000, charge
        order.refresh_from_db()
        assert order.refunded_minor == 3000
    assert Refund.objects.count() == len(paid)
    assert set(Refund.objects.values_list("status", flat=True)) == {RefundStatus.SUCCEEDED}
    for refund in Refund.objects.select_related("request"):
        assert refund.request.timeline.filter(action="refund_succeed").count() == 1


SITE_PATHS = ["/healthz", "/", "/status/", "/policy/"]


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_comes_back_while_the_site_keeps_answering(tmp_path, published_policy, customer, agent,
                                                                    stripe):
    fake = stripe
    fake.faults.slow = 0.4  # each refund takes a while at the gateway: some are in flight when the worker dies
    with serve(tmp_path, fake_url=fake.url) as site:
        first = worker_pid()
        paid = approved_refunds(fake, customer, agent, 10)
        end = time.monotonic() + 60
        while fake.refund_count < 2 and time.monotonic() < end:
            time.sleep(0.05)
        assert 2 <= fake.refund_count < 10, (fake.refund_count, site.output())

        with Traffic(site, SITE_PATHS) as traffic:
            os.kill(first, signal.SIGKILL)
            second = worker_pid(other_than=first)  # supervisor started a new worker
            wait_for_refunds(10, 120, site)
            time.sleep(1)

        assert second != first
        dropped = [a for a in traffic.answers if a.status is None or a.status >= 500]
        assert not dropped, (dropped[:5], site.output())
        assert len(traffic.answers) > 10
        assert site.proc.poll() is None, site.output()
        assert site.request("/healthz").status == 200
    assert_each_refunded_once(fake, paid)


@pytest.mark.django_db(transaction=True)
def test_a_killed_web_server_comes_back_and_the_worker_is_untouched(tmp_path, published_policy, customer, agent,
                                                                     stripe):
    fake = stripe
    with serve(tmp_path, fake_url=fake.url) as site:
        worker = worker_pid()
        masters = [pid for pid in children(site.proc.pid)
                   if "gunicorn" in cmdline(pid) and not any("gunicorn" in cmdline(p) for p in _parents(pid))]
        assert len(masters) == 1, [cmdline(p) for p in children(site.proc.pid)]
        killed = [masters[0], *children(masters[0])]
        os.kill(masters[0], signal.SIGKILL)

        paid = approved_refunds(fake, customer, agent, 3)  # the worker goes on meanwhile
        # the killed server's own workers notice and stop; then a new one (started by supervisord) answers
        end = time.monotonic() + 90
        while time.monotonic() < end:
            new = [pid for pid in children(site.proc.pid) if "gunicorn" in cmdline(pid) and pid not in killed]
            if new and not any(running(pid) for pid in killed) and site.request("/healthz", timeout=5).status == 200:
                break
            time.sleep(0.3)
        assert not any(running(pid) for pid in killed), site.output()
        for path in SITE_PATHS:
            answer = site.request(path)
            assert answer.status == 200, (answer, site.output())
        wait_for_refunds(3, 60, site)
        assert worker_pid() == worker  # the worker was never stopped
        assert site.proc.poll() is None, site.output()
    assert_each_refunded_once(fake, paid)


def _parents(pid: int) -> list[int]:
    out = []
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat[stat.rindex(")") + 2:].split()[1])
        out.append(pid)
    return out

"""Real processes for the multi-node test and bench/scale.py: Debian's nginx as the reverse proxy (an
unprivileged process with a configuration written here), web nodes (`refunddesk serve --no-worker`, each with a
disk of its own) and `refunddesk worker` processes, all on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.core.test_serve import children as descendants  # every process below a pid

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

NGINX_CONF = """\
# written by tests/production/cluster.py: the shape of deploy/nginx/refunddesk.conf on 127.0.0.1
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
daemon off;
events {{ worker_connections 512; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream refunddesk {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 40m;
        location / {{
            proxy_pass http://refunddesk;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-ID $request_id;
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """nginx on 127.0.0.1:port in front of `upstreams` (ports), run as an unprivileged user (`nobody` when the
    tests run as root) from a folder of its own."""

    port: int
    upstreams: list[int]
    proc: subprocess.Popen | None = None
    prefix: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        assert NGINX, "nginx is not installed"
        self.prefix = Path(tempfile.mkdtemp(prefix="refunddesk-nginx-"))
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.prefix / sub).mkdir()
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;" for p in self.upstreams)
        conf = self.prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=self.prefix, port=self.port, servers=servers))
        command = [NGINX, "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log")]
        if os.geteuid() == 0:  # never as root: drop to nobody, who owns this folder
            import grp
            import pwd

            uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
            for path in [self.prefix, *self.prefix.rglob("*")]:
                os.chown(path, uid, gid)
            command = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *command]
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        end = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(self.url + "/healthz/live", timeout=2).close()
                return self
            except urllib.error.HTTPError:
                return self  # nginx answers (an upstream said something)
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"nginx did not start: {self.errors()}") from None
                time.sleep(0.1)

    def errors(self) -> str:
        log = self.prefix / "error.log" if self.prefix else None
        return log.read_text(errors="replace")[-3000:] if log and log.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.prefix:
            shutil.rmtree(self.prefix, ignore_errors=True)


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL `proc` and everything it started, at once: a machine losing power."""
    for pid in [proc.pid, *descendants(proc.pid)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def start_worker(env: dict, log: Path, *, interval: float = 0.2) -> subprocess.Popen:
    """`refunddesk worker` with `env`, its output in `log`."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "refunddesk", "worker", "--interval", str(interval)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(proc: subprocess.Popen, *, grace: float = 30) -> None:
    """SIGTERM, then SIGKILL of whatever is left after `grace` seconds."""
    family = [proc.pid, *descendants(proc.pid)]
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

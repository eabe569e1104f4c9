"""refunddesk serve: the web server (gunicorn, WSGI) and a background worker, together.

Stops both on Ctrl+C. `--no-worker` serves the web only (run `refunddesk worker` elsewhere).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web pages and API on 127.0.0.1:PORT and run a background worker beside them."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--no-worker", action="store_true", help="do not start the background worker")

    def handle(self, *args, host: str, port: int, web_workers: int, no_worker: bool, **options):
        call_command("collectstatic", interactive=False, verbosity=0)
        env = dict(os.environ)
        processes: list[subprocess.Popen] = []
        web = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{host}:{port}",
            "--workers", str(web_workers), "--threads", "4", "--access-logfile", "-", "--graceful-timeout", "5",
        ]
        processes.append(subprocess.Popen(web, env=env))
        if not no_worker:
            processes.append(subprocess.Popen([sys.executable, "-m", "refunddesk", "worker"], env=env))
        self.stdout.write(self.style.SUCCESS(f"refunddesk is serving on http://{host}:{port}/  (Ctrl+C stops it)"))

        def stop(*_):
            for proc in processes:
                if proc.poll() is None:
                    proc.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(proc.poll() is None for proc in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for proc in processes:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        failed = [p for p in processes if p.returncode not in (0, -signal.SIGTERM, None)]
        if failed:
            self.stderr.write(f"a process exited with status {failed[0].returncode}; see the log above.")

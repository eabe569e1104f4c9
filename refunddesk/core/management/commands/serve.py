"""refunddesk serve: the web server (gunicorn, WSGI) and a background worker, together, supervised.

Supervisor (supervisord, from PyPI) runs both as its children in the foreground: when one dies (killed,
out of memory, a bug) it is started again at once, and again after 1, 2, 3... seconds while it keeps
dying within its first seconds; the other one goes on serving meanwhile. Ctrl+C or SIGTERM stops both
(gracefully, then SIGKILL after a while). `--no-worker` serves the web only (run `refunddesk worker`
elsewhere). Both children's output goes to this command's stdout and stderr.

`--production` refuses to start unless the production settings are in use (config.settings.production, which
itself refuses unsafe secrets; `refunddesk serve --production` selects it when DJANGO_SETTINGS_MODULE is unset)
and `check --deploy` finds nothing, warnings included, but those the operator accepted in
SILENCED_SYSTEM_CHECKS (refunddesk.core.deployment: what must be shared between nodes).
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

# Supervisor's own limit is on starts that fail within `startsecs`: after that many in a row it gives up
# on the program (FATAL). Ours never gives up; the wait grows by one second per failed start.
START_RETRIES = 1_000_000


def _quote(text: str) -> str:
    """A value for supervisord.conf: shell-quoted, `%` doubled (the file expands %(name)s)."""
    return shlex.quote(text).replace("%", "%%")


def supervisor_config(*, programs: dict[str, list[str]], directory: Path, rundir: Path) -> str:
    """The text of a supervisord.conf that runs `programs` (name -> argv) in the foreground.

    Each program: restarted whenever it exits, whatever its status (autorestart); a start counts as failed
    when the program dies within `startsecs` and is retried with supervisor's growing delay; stopped with
    SIGTERM, then SIGKILL to its whole process group after `stopwaitsecs`; output to our stdout/stderr
    unbuffered by supervisor (maxbytes=0: no rotation of a stream). Source of the options: supervisor's
    configuration documentation (http://supervisord.org/configuration.html)."""
    lines = [
        "[supervisord]",
        "nodaemon=true",
        "logfile=/dev/null",
        "logfile_maxbytes=0",
        f"pidfile={_quote(str(rundir / 'supervisord.pid'))}",
        "loglevel=info",
        *(["user=root"] if os.geteuid() == 0 else []),  # says so, instead of a warning that it runs as root
        "",
    ]
    for priority, (name, argv) in enumerate(programs.items(), start=1):
        lines += [
            f"[program:{name}]",
            "command=" + " ".join(_quote(part) for part in argv),
            f"directory={_quote(str(directory))}",
            f"priority={priority * 10}",
            "autostart=true",
            "autorestart=true",
            "startsecs=3",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={30 if name == 'worker' else 15}",
            "stopasgroup=true",
            "killasgroup=true",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
            "stderr_logfile=/dev/stderr",
            "stderr_logfile_maxbytes=0",
            "",
        ]
    return "\n".join(lines)


class Command(BaseCommand):
    help = ("Serve the web pages and API on 127.0.0.1:PORT and run a background worker beside them; "
            "either one is restarted when it dies.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--no-worker", action="store_true", help="do not start the background worker")
        parser.add_argument("--production", action="store_true",
                            help="refuse to start unless the production settings are used and `check --deploy` "
                                 "finds nothing (warnings included) that SILENCED_SYSTEM_CHECKS does not accept")

    def handle(self, *args, host: str, port: int, web_workers: int, no_worker: bool, production: bool, **options):
        if production:
            self._production_checks()
        call_command("collectstatic", interactive=False, verbosity=0)
        self._check_port_free(host, port)
        # the processes below read their settings anew: the links they make (SITE_URL, when not set) follow
        # the port they serve on, whatever PORT said
        os.environ["PORT"] = str(port)
        rundir = Path(tempfile.mkdtemp(prefix="refunddesk-serve-"))
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # /metrics adds up what every child counted (prometheus_client's multiprocess mode); a fresh folder
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(rundir / "metrics")
            (rundir / "metrics").mkdir()
        # JSON logs: refunddesk writes one line per request itself (refunddesk.core.logs); gunicorn's plain one not
        access_log = [] if settings.REFUNDDESK_ACCESS_LOG else ["--access-logfile", "-"]
        programs = {
            "web": [
                sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{host}:{port}",
                # --preload: the app (Django, the CEL runtime, ~75 MiB) is imported once in gunicorn's master and
                # shared by its workers (copy-on-write) instead of once per worker; nothing at import time opens
                # a database connection that the workers would then share. supervisord restarts the whole
                # program on an upgrade, so the master never serves old code.
                "--workers", str(web_workers), "--threads", "4", "--preload", *access_log,
                "--graceful-timeout", "5", *self._control_socket(rundir),
            ],
        }
        if not no_worker:
            programs["worker"] = [sys.executable, "-m", "refunddesk", "worker"]
        try:
            conf = rundir / "supervisord.conf"
            conf.write_text(supervisor_config(programs=programs, directory=Path(settings.BASE_DIR), rundir=rundir))
            connections.close_all()
            self.stdout.write(self.style.SUCCESS(
                f"refunddesk is serving on http://{host}:{port}/  (Ctrl+C stops it)"))
            self.stdout.flush()
            from supervisor import supervisord

            supervisord.main(args=["-c", str(conf)])
        finally:
            shutil.rmtree(rundir, ignore_errors=True)

    def _production_checks(self) -> None:
        """CommandError unless the production settings are in use and `check --deploy` finds no error, and no
        warning about safety (Django's security.*) or about what nodes must share (refunddesk.core.deployment),
        but those accepted in SILENCED_SYSTEM_CHECKS. Other warnings (next year's holiday schedule not yet
        published, say) are printed and do not stop a restart."""
        from django.core import checks

        from refunddesk.core.deployment import BLOCKING_WARNINGS
        from refunddesk.core.site_url import is_production

        if not is_production():
            raise CommandError(
                f"--production needs the production settings, but DJANGO_SETTINGS_MODULE is {settings.SETTINGS_MODULE}:"
                " unset it or set it to config.settings.production.")
        found = [m for m in checks.run_checks(include_deployment_checks=True) if not m.is_silenced()]
        blocking = [m for m in found if m.level >= checks.ERROR
                    or (m.level >= checks.WARNING and (m.id or "").startswith(BLOCKING_WARNINGS))]
        for message in found:
            (self.stderr if message in blocking else self.stdout).write(str(message))
        if blocking:
            raise CommandError(
                f"refunddesk will not serve in production until these {len(blocking)} problem(s) are fixed (or, for "
                "a warning, accepted in SILENCED_SYSTEM_CHECKS).")

    @staticmethod
    def _control_socket(rundir: Path) -> list[str]:
        """gunicorn 25.1+ opens a control socket, by default one path per user: give each serve its own, so
        that two of them on one machine do not share it (`gunicornc` can use the path in the log)."""
        from gunicorn.config import Config

        return ["--control-socket", str(rundir / "gunicorn.ctl")] if "control_socket" in Config().settings else []

    @staticmethod
    def _check_port_free(host: str, port: int) -> None:
        """Refuse to start when something already listens on host:port (supervisor would retry forever)."""
        family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host.strip("[]"), port))
            except OSError as exc:
                raise CommandError(f"cannot serve on {host}:{port}: {exc.strerror}. Is refunddesk already "
                                   f"running? Choose another port with --port or PORT=.") from None

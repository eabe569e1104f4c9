"""refunddesk outage compensate|status - outage compensation from the command line.

    refunddesk outage compensate INCIDENT_ID [--batch-size 1000] [--workers N] [--apply] [--force]
                                             [--stop-after N] [--quiet]
    refunddesk outage status INCIDENT_ID

`compensate` evaluates every order the incident affected with the refund policy and creates
the requests it approves or sends to review (see refunddesk/status/compensation.py). Progress
goes to stderr ("12000/100000 (12%) 3400/s"). Interrupted (Ctrl-C, a crash, a kill), it
continues where it stopped when run again. --workers N runs N processes on the run together
(PostgreSQL: each locks the orders it takes and skips those another has). The emails and the
hand-over of approved refunds are done by the worker (`refunddesk worker`), or here at the end
with --apply.

--stop-after N stops with an error once N orders are committed: a real interruption at a
chosen point, for tests and rehearsals; run the command again to continue.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from refunddesk.core.errors import ApplicationError
from refunddesk.status import compensation, services
from refunddesk.status.models import CompensationRun, Incident


class ProgressLine:
    """'12000/100000 (12%) 3400/s' on stderr: redrawn in place on a terminal, a line per second otherwise.

    The rate is the run's (every process working on it), since this command started."""

    def __init__(self, stream, *, quiet: bool = False, base: int = 0):
        self.stream, self.quiet, self.base = stream, quiet, base
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last = 0.0

    def __call__(self, run: CompensationRun, done_here: int, seconds: float, *, final: bool = False) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if not final and now - self.last < (0.2 if self.tty else 1.0) and run.processed < run.total:
            return
        self.last = now
        rate = (run.processed - self.base) / seconds if seconds > 0 else 0.0
        line = f"{run.processed}/{run.total} ({run.percent}%) {rate:.0f}/s"
        if self.tty:
            self.stream.write("\r" + line.ljust(40) + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Outage compensation: refund requests for every order an incident affected."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{compensate,status}")
        comp = sub.add_parser("compensate", help="evaluate the affected orders and create the requests")
        comp.add_argument("incident_id", type=int)
        comp.add_argument("--batch-size", type=int, default=compensation.DEFAULT_BATCH,
                          help="orders per transaction (default %(default)s)")
        comp.add_argument("--apply", action="store_true",
                          help="also send the emails and hand approved refunds over now, instead of the worker")
        comp.add_argument("--force", action="store_true",
                          help="run even if the incident does not reach the policy's outage threshold")
        comp.add_argument("--stop-after", type=int, default=None, metavar="N",
                          help="stop (with an error) once N orders are committed; run again to continue")
        comp.add_argument("--quiet", action="store_true", help="no progress on stderr")
        comp.add_argument("--workers", type=int, default=1, metavar="N",
                          help="processes working on the run together (PostgreSQL; default 1)")
        comp.add_argument("--run", type=int, default=None, help=argparse.SUPPRESS)
        status = sub.add_parser("status", help="the compensation runs of an incident")
        status.add_argument("incident_id", type=int)

    def handle(self, *args, **options):
        try:
            getattr(self, "_" + options["action"])(options)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from None

    def _compensate(self, options):
        if options["run"]:  # a helper started by --workers: work on that run, quietly
            compensation.compensation_execute(run_id=options["run"], batch_size=options["batch_size"])
            return
        incident = Incident.objects.filter(pk=options["incident_id"]).first()
        if incident is None:
            raise CommandError(f"there is no incident {options['incident_id']}.")
        run, started = services.compensation_start(incident_id=incident.pk, source="cli", force=options["force"],
                                                   enqueue=False)
        if run.processed:
            self.stderr.write(f"continuing run {run.pk} after {run.processed} orders")
        elif not started:
            self.stderr.write(f"run {run.pk} is already {run.status}; working on it too")
        helpers = self._helpers(run, options)
        progress = ProgressLine(self.stderr._out, quiet=options["quiet"], base=run.processed)
        began = time.monotonic()
        try:
            run = compensation.compensation_execute(
                run_id=run.pk, batch_size=options["batch_size"], stop_after=options["stop_after"],
                progress=progress)
        except compensation.CompensationInterrupted as exc:
            self._stop(helpers)
            run.refresh_from_db()
            progress(run, 0, time.monotonic() - began, final=True)
            raise CommandError(f"{exc}; {run.processed}/{run.total} done. Run the command again to continue.") \
                from None
        except KeyboardInterrupt:
            self._stop(helpers)
            run.refresh_from_db()
            raise CommandError(f"interrupted at {run.processed}/{run.total}; run the command again to continue.") \
                from None
        except BaseException:
            self._stop(helpers)
            raise
        failed = [h for h in helpers if h.wait() != 0]
        if failed:
            self.stderr.write(f"{len(failed)} helper process(es) failed; the run finished without them")
        seconds = time.monotonic() - began
        run.refresh_from_db()
        progress(run, 0, seconds, final=True)
        self.stdout.write(
            f"run {run.pk} {run.status}: {run.processed} orders evaluated, {run.created} requests created "
            f"({run.approved} approved, {run.review} to review), {run.rejected} refused by the policy, "
            f"{run.skipped} skipped, in {seconds:.1f}s")
        pending = compensation.pending_request_ids(run)
        if options["apply"] and pending:
            self.stderr.write(f"applying {len(pending)} decisions (emails, refunds)...")
            applied, began = 0, time.monotonic()
            for start in range(0, len(pending), 500):
                applied += compensation.apply_decisions(run_id=run.pk, request_ids=pending[start:start + 500])
                if not options["quiet"]:
                    secs = time.monotonic() - began
                    self.stderr._out.write(f"{applied}/{len(pending)} applied {applied / secs if secs else 0:.0f}/s\n")
            self.stdout.write(f"{applied} requests applied: customers emailed, approved refunds handed over")
        elif pending:
            self.stdout.write(f"{len(pending)} requests wait for the worker (refunddesk worker) to email the "
                              f"customers and hand the approved refunds over")

    def _helpers(self, run: CompensationRun, options) -> list[subprocess.Popen]:
        """--workers N: N-1 more processes on the same run (they take different orders: PostgreSQL only)."""
        workers = options["workers"]
        if workers <= 1:
            return []
        if not connection.features.has_select_for_update_skip_locked:
            self.stderr.write(f"--workers needs PostgreSQL ({connection.vendor} writes one transaction at a time); "
                              "working alone")
            return []
        command = [sys.executable, "-m", "refunddesk.cli", "outage", "compensate", str(run.incident_id),
                   "--run", str(run.pk), "--batch-size", str(options["batch_size"])]
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE)}
        return [subprocess.Popen(command, env=env) for _ in range(workers - 1)]

    @staticmethod
    def _stop(helpers: list[subprocess.Popen]) -> None:
        for helper in helpers:
            helper.terminate()
        for helper in helpers:
            helper.wait()

    def _status(self, options):
        incident = Incident.objects.filter(pk=options["incident_id"]).first()
        if incident is None:
            raise CommandError(f"there is no incident {options['incident_id']}.")
        check = compensation.eligibility(incident)
        self.stdout.write(f"incident {incident.pk}: {incident.title_en} - {check.reason}")
        for run in incident.compensation_runs.order_by("created_at", "id"):
            self.stdout.write(
                f"run {run.pk} {run.status}: {run.processed}/{run.total} ({run.percent}%), last order id "
                f"{run.last_order_id}, {run.created} created ({run.approved} approved, {run.review} review), "
                f"{run.rejected} refused, {run.skipped} skipped, {run.applied} applied"
                + (f", error: {run.error}" if run.error else ""))

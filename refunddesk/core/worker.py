"""Keeping the background queue healthy: heartbeats, re-queueing the jobs of dead workers, the
periodic jobs (reconciliation) that `refunddesk worker` runs beside the task loop, and the task loop
itself, which waits out database outages instead of dying (refunddesk.core.outages)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, transaction
from django.utils import timezone
from django_tasks.base import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from refunddesk.core.logs import bound, task_request_id
from refunddesk.core.models import WorkerHeartbeat
from refunddesk.core.outages import database_unavailable, database_wait

log = logging.getLogger("refunddesk.worker")
HEARTBEAT_EVERY = 5
DEAD_AFTER = dt.timedelta(seconds=30)
UNKNOWN_WORKER_GRACE = dt.timedelta(minutes=15)
# A task an outage interrupted runs again after 2^(n-1) s (n = times it was claimed), 5 minutes at most.
INTERRUPTED_DELAY_MAX = dt.timedelta(minutes=5)


def worker_heartbeat(*, worker_id: str) -> None:
    """Record that worker `worker_id` (this process) is alive now. Raises django.db errors."""
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"hostname": socket.gethostname(), "pid": os.getpid(), "seen_at": timezone.now()},
    )


def _process_gone(pid: int) -> bool:
    """True when no process `pid` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


@transaction.atomic
def tasks_requeue_orphans(*, now: dt.datetime | None = None) -> int:
    """Jobs left RUNNING by a dead worker go back to READY. Returns how many.

    A worker is dead when it has not beaten for DEAD_AFTER, or at once when it beat from this machine and
    its process is gone (killed, crashed: `refunddesk serve` starts a new worker that finds it so). A job of
    a worker never seen waits UNKNOWN_WORKER_GRACE after it started."""
    now = now or timezone.now()
    here = socket.gethostname()
    beats = list(WorkerHeartbeat.objects.values_list("worker_id", "seen_at", "hostname", "pid"))
    known = {worker_id for worker_id, *_ in beats}
    alive = {worker_id for worker_id, seen_at, hostname, pid in beats
             if seen_at >= now - DEAD_AFTER and not (hostname == here and pid != os.getpid() and _process_gone(pid))}
    requeued = 0
    for row in DBTaskResult.objects.select_for_update(skip_locked=True).filter(status=TaskResultStatus.RUNNING):
        last = row.worker_ids[-1] if row.worker_ids else None
        dead = (last in known and last not in alive) or (
            last not in known and row.started_at and row.started_at < now - UNKNOWN_WORKER_GRACE)
        if dead:
            row.status = TaskResultStatus.READY
            row.save(update_fields=["status"])
            requeued += 1
            log.warning("re-queued task %s (%s) left running by dead worker %s", row.pk, row.task_path, last)
    WorkerHeartbeat.objects.filter(seen_at__lt=now - dt.timedelta(days=1)).delete()
    return requeued


@transaction.atomic
def tasks_requeue_interrupted(*, worker_id: str, now: dt.datetime | None = None) -> int:
    """Put back in the queue the jobs this worker claimed and left RUNNING because a database outage
    interrupted them (the task itself, or recording its result). Call it only while the worker runs no
    task. Each runs again after 2^(n-1) seconds, n being the times it has been claimed, 5 minutes at most,
    so a job that keeps meeting an outage does not spin. Returns how many were re-queued.

    A re-queued job may run twice (its first run can have finished its work before the outage kept its
    result from being recorded): refunddesk's tasks are idempotent (refund keys and leases, webhook
    deliveries by id)."""
    now = now or timezone.now()
    requeued = 0
    for row in DBTaskResult.objects.select_for_update().filter(status=TaskResultStatus.RUNNING):
        if not row.worker_ids or row.worker_ids[-1] != worker_id:
            continue
        delay = min(dt.timedelta(seconds=2 ** max(len(row.worker_ids) - 1, 0)), INTERRUPTED_DELAY_MAX)
        row.status = TaskResultStatus.READY
        row.run_after = now + delay
        row.save(update_fields=["status", "run_after"])
        requeued += 1
        log.warning("re-queued task %s (%s), interrupted by a database outage; it runs again in %s", row.pk,
                    row.task_path, delay)
    return requeued


class OutageProofWorker(Worker):
    """django-tasks-db's worker, except that a task interrupted by a database outage is not marked FAILED:
    the outage propagates out of `run()` and `tasks_run` re-queues the task once the database is back."""

    def run_task(self, db_task_result: DBTaskResult) -> None:
        record_failure = db_task_result.set_failed

        def set_failed(exc: BaseException) -> None:
            if database_unavailable(exc):
                raise exc  # leave it RUNNING; tasks_requeue_interrupted puts it back
            record_failure(exc)

        db_task_result.set_failed = set_failed
        # the task's log lines (and the tasks it queues) carry the id of the request that queued it
        with bound(request_id=task_request_id(db_task_result.args_kwargs), task=db_task_result.task_path,
                   task_id=str(db_task_result.id)):
            super().run_task(db_task_result)


def tasks_run(*, worker_id: str, interval: float = 0.5, batch: bool = False) -> None:
    """Run queued tasks of every queue until SIGTERM/SIGINT (or, with `batch`, until none is ready).

    A database outage (refunddesk.core.outages.database_unavailable) never ends it: the loop waits with
    backoff until a heartbeat goes through, re-queues the task the outage interrupted, and carries on.
    Other errors propagate (the process exits and `refunddesk serve`'s supervisor starts it again).
    `interval` is the pause in seconds between polls of an empty queue."""
    worker = OutageProofWorker(
        queue_names=["*"], interval=interval, batch=batch, backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False, max_tasks=None, worker_id=worker_id, excluded_queue_names=[],
    )
    worker.configure_signals()

    def resume() -> None:
        worker_heartbeat(worker_id=worker_id)
        tasks_requeue_interrupted(worker_id=worker_id)

    while True:
        try:
            worker.run()
            return
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("task loop: database unavailable (%s); waiting for it", exc)
            database_wait(resume, what="task loop")
            log.warning("task loop: the database is back; carrying on")


@dataclass(frozen=True)
class PeriodicJob:
    """Work the worker's maintenance loop does every `every()` seconds (read each time: settings may change in
    tests). `shared`: one worker of the whole installation per period (a lock in the shared cache), not each."""

    name: str
    every: Callable[[], float]
    run: Callable[[], object]
    shared: bool = False


#: The periodic jobs, registered by the apps that own the work (in their AppConfig.ready: payments'
#: reconciliations, refunds' deadlines after a calendar change), so that core imports no other app.
PERIODIC_JOBS: dict[str, PeriodicJob] = {}


def periodic_job_register(job: PeriodicJob) -> None:
    """Add (or replace, by name) a job the maintenance loop runs."""
    PERIODIC_JOBS[job.name] = job


periodic_job_register(PeriodicJob("requeue-orphans", lambda: settings.REFUNDDESK_RECONCILE_SECONDS,
                                  lambda: tasks_requeue_orphans()))


def maintenance_loop(*, worker_id: str, stop: threading.Event) -> None:
    """Heartbeat every few seconds, and run each registered PeriodicJob when its period has come (the
    re-queueing of dead workers' jobs; the apps' reconciliations and deadline filling). Runs until `stop`
    is set.

    A database outage does not end it: it waits with backoff (refunddesk.core.outages.database_wait)
    until a heartbeat goes through. Other errors are logged and the loop goes on."""
    import time

    last_run: dict[str, float] = {}

    while not stop.is_set():
        try:
            close_old_connections()
            worker_heartbeat(worker_id=worker_id)
            for job in list(PERIODIC_JOBS.values()):
                every = float(job.every())
                ran = last_run.get(job.name)  # never yet: now (the monotonic clock may start near 0 at boot)
                if ran is not None and time.monotonic() - ran < every:
                    continue
                last_run[job.name] = time.monotonic()
                if job.shared and not cache.add(f"refunddesk:periodic:{job.name}", worker_id,
                                                timeout=max(int(every) - HEARTBEAT_EVERY, 1)):
                    continue  # another worker runs it this period
                job.run()
        except Exception as exc:  # keep the loop alive; the error is in the log
            if not database_unavailable(exc):
                log.exception("worker maintenance failed")
            else:
                log.warning("worker maintenance: database unavailable (%s); waiting for it", exc)
                try:
                    database_wait(lambda: worker_heartbeat(worker_id=worker_id), what="worker maintenance",
                                  stop=stop)
                except Exception as again:  # stopped while waiting (the outage's error), or a bug
                    if not stop.is_set():
                        log.exception("worker maintenance failed", exc_info=again)
        stop.wait(HEARTBEAT_EVERY)

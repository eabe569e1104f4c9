"""The worker's periodic jobs (core.worker.maintenance_loop) run when the worker starts, then every period."""

from __future__ import annotations

import threading

import pytest

from refunddesk.core import worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_periodic_job_runs_when_the_worker_starts_even_if_the_machine_booted_less_than_a_period_ago():
    """The monotonic clock starts near 0 at boot: a job with a period longer than the uptime (the reports'
    15-minute rebuild on a container started a minute ago) must still run at once, not a period after boot."""
    ran = threading.Event()
    stop = threading.Event()
    worker.periodic_job_register(worker.PeriodicJob("test-first-run", lambda: 10**9, ran.set))
    try:
        loop = threading.Thread(target=worker.maintenance_loop, kwargs={"worker_id": "test", "stop": stop})
        loop.start()
        assert ran.wait(20), "the job did not run at the worker's start"
    finally:
        stop.set()
        loop.join(20)
        worker.PERIODIC_JOBS.pop("test-first-run", None)


def test_the_reports_rebuild_is_checked_every_minute_by_one_worker():
    job = worker.PERIODIC_JOBS["reports-figures"]
    assert job.shared and job.every() == 60

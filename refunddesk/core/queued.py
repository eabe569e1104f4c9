"""Queuing background tasks in bulk: inside `batched()`, tasks queued through `enqueue` are written when the
block ends, one INSERT for all of them (django-tasks-db's table), in the caller's transaction like a single
`task.enqueue` would be. Outside a batch, or with another task backend, `enqueue` is `task.enqueue`.

Used where one operation queues thousands of tasks (the follow-up of an outage's compensation: a refund
execution per approved request); each row is the one `task.enqueue` writes (same id function, task path,
queue, priority, run_after, the request id of the logs) so the worker cannot tell them apart.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any

_local = threading.local()


@contextmanager
def batched():
    """Collect the tasks `enqueue`d inside and write them in bulk at the end (nested: the outermost writes).
    Nothing is written when the block raises."""
    if getattr(_local, "rows", None) is not None:
        yield
        return
    _local.rows = []
    try:
        yield
        rows, _local.rows = _local.rows, None
        _write(rows)
    finally:
        _local.rows = None


def enqueue(task, **kwargs: Any) -> None:
    """`task.enqueue(**kwargs)`, or, inside `batched()` with the database task backend, queued at its end."""
    rows = getattr(_local, "rows", None)
    backend = task.get_backend()
    if rows is None or not hasattr(backend, "_task_to_db_task"):
        task.enqueue(**kwargs)
        return
    backend.validate_task(task)
    rows.append((task, backend, kwargs))


def _write(rows: list) -> None:
    if not rows:
        return
    from django_tasks_db.compat import normalize_json
    from django_tasks_db.models import DBTaskResult, get_date_max

    from refunddesk.core.logs import request_id_bound

    request_id = request_id_bound()
    meta = {"meta": {"request_id": request_id}} if request_id else {}
    DBTaskResult.objects.bulk_create([
        DBTaskResult(id=backend._get_id(), args_kwargs={**normalize_json({"args": [], "kwargs": kwargs}), **meta},
                     priority=task.priority, task_path=task.module_path, queue_name=task.queue_name,
                     run_after=task.run_after or get_date_max(), backend_name=backend.alias)
        for task, backend, kwargs in rows], batch_size=1000)

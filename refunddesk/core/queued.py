"""Queuing background tasks in bulk: inside `batched()`, tasks queued through `enqueue` are written when the
block ends, one INSERT for all of them (django-tasks-db's table), in the caller's transaction like a single
`task.enqueue` would be. Outside a batch, or with another task backend, `enqueue` is `task.enqueue`.

Used where one operation queues thousands of tasks (the follow-up of an outage's compensation: a refund
execution per approved request); each row is the one `task.enqueue` writes (same id function, task path,
queue, priority, run_after, the request id of the logs) so the worker cannot tell them apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Collector:
    """Items collected per thread between the start and the end of the outermost `collecting()` block, then
    handed to `flush(items)` once (nested blocks collect into the outer one; nothing is flushed when the block
    raises). `items` is the list being collected, or None outside a block. Used for tasks (`batched`) and for
    the emails of a batch (notify.services.emails_batched)."""

    def __init__(self, flush: Callable[[list], object]):
        self._local = threading.local()
        self._flush = flush

    @property
    def items(self) -> list | None:
        return getattr(self._local, "items", None)

    @contextmanager
    def collecting(self) -> Iterator[None]:
        if self.items is not None:
            yield
            return
        self._local.items = []
        try:
            yield
            items, self._local.items = self._local.items, None
            self._flush(items)
        finally:
            self._local.items = None


def batched():
    """Collect the tasks `enqueue`d inside and write them in bulk at the end (nested: the outermost writes).
    Nothing is written when the block raises."""
    return _tasks.collecting()


def enqueue(task, **kwargs: Any) -> None:
    """`task.enqueue(**kwargs)`, or, inside `batched()` with the database task backend, queued at its end."""
    rows = _tasks.items
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


_tasks = Collector(_write)

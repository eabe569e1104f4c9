"""Run the queued background tasks in-process, the way the worker does (same task code, same rows)."""

from __future__ import annotations

from django_tasks_db.models import DBTaskResult


def run_tasks(*, max_rounds: int = 20, raise_errors: bool = True) -> int:
    ran = 0
    for _ in range(max_rounds):
        rows = list(DBTaskResult.objects.ready().order_by("enqueued_at"))
        if not rows:
            break
        for row in rows:
            row.claim("tests")
            result = row.task_result
            try:
                value = row.task.call(*result.args, **result.kwargs)
            except Exception as exc:
                row.set_failed(exc)
                if raise_errors:
                    raise
            else:
                row.set_successful(value)
            ran += 1
    return ran


def queued(task_path_part: str) -> int:
    return DBTaskResult.objects.filter(task_path__contains=task_path_part).count()

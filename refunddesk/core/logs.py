"""Structured logs (structlog) with a request id that follows the work a request queued into the worker.

- `logging_config(fmt, level)`: the LOGGING dict. `json` (the production default): one JSON object per line
  with `timestamp` (UTC, ISO 8601), `level`, `logger`, `event` (the message), `exception` (a traceback, when
  there is one) and whatever is bound for the request or task (`request_id`, `task`, `task_id`), rendered by
  structlog's ProcessorFormatter for every logger of the process (Django's, gunicorn's, the libraries'). `plain`
  (the laptop default): `time LEVEL logger: message`, as before.
- `RequestIdMiddleware`: the request id is the `X-Request-ID` header the proxy set (nginx: `$request_id`), when it
  is a sane token, else a new one; it is bound for the request's log lines, answered in `X-Request-ID`, and with
  REFUNDDESK_ACCESS_LOG (on with json) each request ends with one `request` line (method, path, status, ms).
- Tasks: a task queued while a request id is bound carries it (`args_kwargs["meta"]["request_id"]` of
  django-tasks-db's row, written by `_carry_request_id` before the row is saved); the worker binds it again
  while it runs the task (refunddesk.core.worker.OutageProofWorker), so the task's lines, and the tasks it
  queues in turn, carry the id of the request that started it all.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

import structlog
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:  # the settings import this module: nothing here may load Django's models at import time
    from django.http import HttpRequest, HttpResponse

access_log = logging.getLogger("refunddesk.access")
HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def logging_config(*, fmt: str, level: str) -> dict:
    """Django's LOGGING for `fmt` "json" or "plain" (anything else: ImproperlyConfigured) at `level` (INFO,
    WARNING...)."""
    if fmt not in ("json", "plain"):
        raise ImproperlyConfigured(f"LOG_FORMAT={fmt!r}: use json or plain.")
    formatters = {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(sort_keys=False),
            ],
            "foreign_pre_chain": _PRE_CHAIN,
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {fmt: formatters[fmt]},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": fmt}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }


def structlog_configure() -> None:
    """structlog's own loggers (structlog.get_logger) hand their events to the standard library's, so that one
    formatter renders everything."""
    structlog.configure(
        processors=[*_PRE_CHAIN[:2], structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def request_id_bound() -> str | None:
    """The request id bound in this thread (a request being answered, or a task it queued), or None."""
    return structlog.contextvars.get_contextvars().get("request_id")


@contextmanager
def bound(**values):
    """Bind `values` (those that are not None) to every log line of this thread while the block runs."""
    values = {k: v for k, v in values.items() if v is not None}
    with structlog.contextvars.bound_contextvars(**values):
        yield


class RequestIdMiddleware:
    """Gives every request an id (see the module docstring); place it first in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get(HEADER, "")
        request_id = sent if _SANE.match(sent) else uuid.uuid4().hex
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        started = time.monotonic()
        with bound(request_id=request_id):
            response = self.get_response(request)
            response[HEADER] = request_id
            if getattr(settings, "REFUNDDESK_ACCESS_LOG", False):
                access_log.info("request", extra={
                    "method": request.method, "path": request.path, "status": response.status_code,
                    "ms": round((time.monotonic() - started) * 1000, 1)})
        return response


def _carry_request_id(sender, instance, **kwargs) -> None:
    """pre_save of django-tasks-db's DBTaskResult: a new row queued while a request id is bound carries it."""
    if not instance._state.adding or not isinstance(instance.args_kwargs, dict):
        return
    request_id = request_id_bound()
    if request_id and "meta" not in instance.args_kwargs:
        instance.args_kwargs = {**instance.args_kwargs, "meta": {"request_id": request_id}}


def task_request_id(args_kwargs: object) -> str | None:
    """The request id a queued task's row carries (see `_carry_request_id`), or None."""
    meta = args_kwargs.get("meta") if isinstance(args_kwargs, dict) else None
    return meta.get("request_id") if isinstance(meta, dict) else None


def connect() -> None:
    """Called by refunddesk.core.apps: structlog set up, and queued tasks carry the request id."""
    from django.db.models.signals import pre_save
    from django_tasks_db.models import DBTaskResult

    structlog_configure()
    pre_save.connect(_carry_request_id, sender=DBTaskResult, dispatch_uid="refunddesk.request_id")

"""The correlation id: one per web request, carried into the Celery tasks it causes and into
the customs gateway calls those make, so an operator can follow one checkout through the logs.

- Web: `CorrelationIdMiddleware` takes a valid incoming X-Request-ID (a load balancer's) or
  makes one, and returns it in the response's X-Request-ID header.
- Tasks: `before_task_publish` puts the current id in the message headers (TASK_HEADER);
  `task_prerun` binds it in the worker (a task sent by beat gets an id of its own). A task
  that sends others (retries included) passes its id on the same way.
- Gateway: `customs.gateway.HttpTransport` sends it as X-Request-ID; the sandbox logs it.

Every log record gets `correlation_id` from `CorrelationIdFilter` (settings.LOGGING).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import time
import uuid
from collections.abc import Iterator

from config import tracing
from config.logging import RESIDENT_ID

HEADER = "X-Request-ID"
TASK_HEADER = "bondport_request_id"

# What we accept from outside: short, printable, no spaces or quotes (it is logged verbatim).
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")
request_logger = logging.getLogger("config.requests")
_current: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")


def current() -> str:
    """The id bound in this context ("" outside any request or task)."""
    return _current.get()


def bind(cid: str) -> None:
    """Bind `cid` until the next bind, for a thread that handles one request after another."""
    _current.set(cid)


def new() -> str:
    return uuid.uuid4().hex


def valid(value: object) -> str:
    """`value` if it is acceptable as a correlation id, else "". A resident ID (someone pasting
    one into a header) is never accepted: it would be logged and echoed."""
    if not isinstance(value, str) or not _VALID.fullmatch(value):
        return ""
    return "" if RESIDENT_ID.search(value) else value


@contextlib.contextmanager
def bound(cid: str) -> Iterator[str]:
    """Bind `cid` for the block (and everything it logs or sends)."""
    token = _current.set(cid)
    try:
        yield cid
    finally:
        _current.reset(token)


class CorrelationIdFilter(logging.Filter):
    """Adds `record.correlation_id` ("-" when none is bound) for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "correlation_id", None):
            record.correlation_id = _current.get() or "-"
        return True


class CorrelationIdMiddleware:
    """First in MIDDLEWARE: every later middleware, the view and what it logs see the id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        cid = valid(request.headers.get(HEADER)) or new()
        request.correlation_id = cid
        started = time.monotonic()
        with bound(cid):
            tracing.annotate_current_span(cid)
            response = self.get_response(request)
            if settings.LOG_REQUESTS:  # the path only: a query string may carry tokens
                request_logger.info(
                    "%s %s -> %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={"duration_ms": round((time.monotonic() - started) * 1000, 1)},
                )
        response[HEADER] = cid
        return response


# --- Celery ----------------------------------------------------------------------------------
_task_tokens: dict[str, contextvars.Token] = {}


def on_before_task_publish(headers=None, **kwargs) -> None:
    cid = _current.get()
    if cid and headers is not None:
        headers.setdefault(TASK_HEADER, cid)


def on_task_prerun(task_id=None, task=None, **kwargs) -> None:
    request_cid = valid(getattr(task.request, TASK_HEADER, None)) if task is not None else ""
    cid = request_cid or _current.get() or new()  # eager: the caller's; from beat: a new one
    if task_id:
        _task_tokens[task_id] = _current.set(cid)


def on_task_postrun(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context: just clear it
            _current.reset(token)
            return
        _current.set("")


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(on_before_task_publish, weak=False)
    signals.task_prerun.connect(on_task_prerun, weak=False)
    signals.task_postrun.connect(on_task_postrun, weak=False)

"""Platform-wide tasks that belong to no app, and the one way apps enqueue work."""

import contextlib
import logging
import time

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from config import correlation, tracing

HEARTBEAT_KEY = "bondport:worker-heartbeat"
logger = logging.getLogger(__name__)


@shared_task(name="config.tasks.worker_heartbeat")
def worker_heartbeat() -> str:
    """Record that a worker ran a task just now; /healthz shows how long ago that was."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


def _send(name: str, *, args: tuple = (), kwargs: dict | None = None, countdown: float = 0) -> bool:
    """Send now; a transport error is logged (the sweep will pick the work up), never raised."""
    from celery import current_app

    options = {"countdown": round(countdown, 3)} if countdown > 0 else {}
    try:
        current_app.send_task(name, args=args, kwargs=kwargs or {}, retry=False, **options)
    except Exception:  # any transport error
        logger.warning("broker unavailable: %s waits for its sweep", name)
        return False
    return True


def send_on_commit(name: str, *, args: tuple = (), kwargs: dict | None = None) -> None:
    """Ask a worker to run task `name` once the current transaction commits.

    The message is only a nudge: every sender keeps its work durable in the database and a beat
    sweep finds it, so a broker that is down is logged, never raised into the request.
    """
    from django.db import transaction

    cid = correlation.current()  # the request's, even if the commit runs elsewhere
    trace = tracing.current_context()  # and its trace (None while tracing is off)

    def send() -> None:
        with correlation.bound(cid), tracing.attached(trace):
            _send(name, args=args, kwargs=kwargs)

    transaction.on_commit(send)


def _queued_key(name: str) -> str:
    return f"bondport:queued:{name}"


def _started_key(name: str) -> str:
    return f"bondport:started:{name}"


def _linger_left(name: str) -> float:
    """Seconds until one linger (TASK_COALESCE_LINGER_SECONDS) has passed since the last such
    task started; 0 when it is longer ago (the quiet case: no delay at all)."""
    from django.conf import settings

    linger = settings.TASK_COALESCE_LINGER_SECONDS
    if linger <= 0:
        return 0.0
    last = cache.get(_started_key(name))
    if last is None:
        return 0.0
    return max(0.0, min(linger, last + linger - time.time()))


def send_coalesced_on_commit(name: str, *, window_seconds: float = 5.0) -> None:
    """`send_on_commit` for a task that takes all the work due when it starts (filing): while
    one such task waits in the queue, another would find nothing the first does not, so none
    is sent. A cache key marks the waiting task; the task clears it as it starts
    (`coalesced_task_started`); the key lapses after `window_seconds` in case the message is
    lost. Without the cache every nudge is sent, as before.

    Under load (issue #19): when the last such task started less than
    TASK_COALESCE_LINGER_SECONDS ago, the new one is sent with a countdown to the end of that
    linger, so work arriving meanwhile joins it. That caps these tasks at one per linger
    whatever the order rate, and costs nothing when the pipeline is quiet (no recent start,
    no delay)."""
    from django.db import transaction

    cid = correlation.current()
    trace = tracing.current_context()

    def send() -> None:
        with correlation.bound(cid), tracing.attached(trace):
            _send_coalesced()

    def _send_coalesced() -> None:
        countdown = 0.0
        try:
            if not cache.add(_queued_key(name), 1, timeout=window_seconds):
                return  # one is queued and will take this work too
            countdown = _linger_left(name)
        except Exception:
            logger.warning("cache unavailable: %s sent uncoalesced", name)
        if not _send(name, countdown=countdown):
            coalesced_task_started(name)  # nothing is queued after all

    transaction.on_commit(send)


def coalesced_task_started(name: str) -> None:
    """Called first by a coalesced task: work committed from now on needs a new one (sent
    after the linger, counted from now)."""
    with contextlib.suppress(Exception):
        cache.delete(_queued_key(name))
        cache.set(_started_key(name), time.time(), timeout=60)


def coalesced_forget(name: str) -> None:
    """Neither queued nor recently started (tests start from here)."""
    with contextlib.suppress(Exception):
        cache.delete_many([_queued_key(name), _started_key(name)])

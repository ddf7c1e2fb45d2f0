"""Platform-wide tasks that belong to no app, and the one way apps enqueue work."""

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "bondport:worker-heartbeat"
logger = logging.getLogger(__name__)


@shared_task(name="config.tasks.worker_heartbeat")
def worker_heartbeat() -> str:
    """Record that a worker ran a task just now; /healthz shows how long ago that was."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now


def send_on_commit(name: str, *, args: tuple = (), kwargs: dict | None = None) -> None:
    """Ask a worker to run task `name` once the current transaction commits.

    The message is only a nudge: every sender keeps its work durable in the database and a beat
    sweep finds it, so a broker that is down is logged, never raised into the request.
    """
    from celery import current_app
    from django.db import transaction

    def send() -> None:
        try:
            current_app.send_task(name, args=args, kwargs=kwargs or {}, retry=False)
        except Exception:  # any transport error: the sweep will pick the work up
            logger.warning("broker unavailable: %s waits for its sweep", name)

    transaction.on_commit(send)

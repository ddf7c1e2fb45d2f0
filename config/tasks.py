"""Platform-wide tasks that belong to no app."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "bondport:worker-heartbeat"


@shared_task(name="config.tasks.worker_heartbeat")
def worker_heartbeat() -> str:
    """Record that a worker ran a task just now; /healthz shows how long ago that was."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now

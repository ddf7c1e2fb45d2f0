"""Messages waiting in each Celery queue, read from the broker itself (no worker needed)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

# kombu's Redis transport keeps a queue's higher priorities in lists named queue + sep + step.
REDIS_PRIORITY_SEP = "\x06\x16"
REDIS_PRIORITY_STEPS = (3, 6, 9)


def queue_names() -> list[str]:
    names = {settings.CELERY_TASK_DEFAULT_QUEUE}
    names.update(route["queue"] for route in settings.CELERY_TASK_ROUTES.values())
    names.update(settings.OPS_EXTRA_QUEUES)
    return sorted(names)


def queue_depths() -> dict[str, int]:
    """LLEN of each queue on Redis; on the filesystem broker, its message files in the folder."""
    url = settings.CELERY_BROKER_URL
    names = queue_names()
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        counts = dict.fromkeys(names, 0)
        suffixes = {f".{name}.msg": name for name in names}
        for entry in folder.iterdir():
            for suffix, name in suffixes.items():
                if entry.name.endswith(suffix):
                    counts[name] += 1
        return counts
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        try:
            with client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.llen(name)
                    for step in REDIS_PRIORITY_STEPS:
                        pipe.llen(f"{name}{REDIS_PRIORITY_SEP}{step}")
                lengths = pipe.execute()
        finally:
            client.close()
        per = 1 + len(REDIS_PRIORITY_STEPS)
        return {name: sum(lengths[i * per : (i + 1) * per]) for i, name in enumerate(names)}
    return {}

"""The Celery app: configuration comes from Django settings (CELERY_* variables)."""

import os

from celery import Celery, signals

from config import beatlock, tracing
from config.correlation import connect_celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("bondport", include=["config.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every task message carries the correlation id of the request (or task) that sent it.
connect_celery_signals()
tracing.connect_celery_signals()  # OTEL_ENABLED only
beatlock.connect_celery_signals()  # exactly one beat: a second refuses to run


@signals.setup_logging.connect(weak=False)
def _django_logging(loglevel=None, **kwargs) -> None:
    """Workers and beat log through settings.LOGGING (redaction, correlation id, LOG_FORMAT)
    instead of Celery's own root handler; `--loglevel` still sets the level."""
    import logging
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)

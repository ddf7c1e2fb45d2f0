"""/healthz: is this node able to serve? Database and broker decide; the worker is reported."""

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from config.tasks import HEARTBEAT_KEY


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the reason goes in the body
        return {"ok": False, "vendor": connection.vendor, "error": exc.__class__.__name__}
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> dict:
    url = settings.CELERY_BROKER_URL
    transport = url.split("://", 1)[0]
    try:
        with celery_app.connection_for_write(url=url) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
    except Exception as exc:  # kombu raises transport-specific errors; all mean "down"
        return {"ok": False, "transport": transport, "error": exc.__class__.__name__}
    return {"ok": True, "transport": transport}


def worker_last_seen() -> dict:
    """Informational: a web-only node is healthy without a worker of its own."""
    try:
        seen = cache.get(HEARTBEAT_KEY)
    except Exception:
        return {"last_seen": None, "seconds_ago": None}
    if not seen:
        return {"last_seen": None, "seconds_ago": None}
    age = (timezone.now() - datetime.fromisoformat(seen)).total_seconds()
    return {"last_seen": seen, "seconds_ago": round(age, 1)}


@never_cache
@require_GET
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    down = [name for name, result in checks.items() if not result["ok"]]
    body = {"status": "down" if down else "ok", "down": down, "checks": checks}
    if checks["database"]["ok"]:
        body["worker"] = worker_last_seen()
    return JsonResponse(body, status=503 if down else 200)

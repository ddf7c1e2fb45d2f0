"""The web edge under load: how busy this process is, and admission control (load shedding).

`AdmissionMiddleware` (right after LocaleMiddleware, so a refusal speaks the user's language)
counts the requests this process is serving (`in_flight()`, read by the order-status poll to
space its shoppers' polls out as load rises) and refuses work before the database saturates:

- **in-flight limit** (`ADMISSION_MAX_IN_FLIGHT` per process, 0 = no limit): past it a request
  is answered 503 at once, without a statement.
- **a shared budget for new orders** (`ADMISSION_EXPENSIVE_RATE` per second over all nodes,
  through the shared cache; 0 = no budget; `manage.py admission_budget N` changes it on every
  node at run time): placing an order, by API, page or walk-in kiosk. Past it they are
  answered 503 before the view runs, so nothing is half written: the shopper retries after
  `Retry-After` seconds. What follows an admitted placement (payment start, the provider's
  notification, the pickup) is not budgeted: admitted work is finished, new work waits.

Never shed: the payment provider's notifications and the customs authorities' receipts (they
are idempotent and cheap, and refusing one only makes its sender retry later, with the order
waiting meanwhile), health checks, static files and the kiosk's handover at the counter, where
a person is waiting (`ADMISSION_NEVER_SHED` prefixes).

A 503 carries `Retry-After` and a body in the user's language: JSON ({"code", "message",
"extra"} like every API error) under /api/, a small HTML page elsewhere.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_in_flight = 0
_shed = {"in_flight": 0, "expensive": 0}


def in_flight() -> int:
    """Requests this process is serving now (this one included)."""
    return _in_flight


def shed_counts() -> dict:
    """Requests refused by this process since it started, by reason."""
    return dict(_shed)


def _expensive(request) -> bool:
    if request.method != "POST":
        return False
    path = request.path_info
    return any(path.startswith(p) and path.endswith(s) for p, s in settings.ADMISSION_EXPENSIVE)


def _never_shed(request) -> bool:
    return request.path_info.startswith(tuple(settings.ADMISSION_NEVER_SHED))


BUDGET_KEY = "admission:expensive_rate"
_budget_read = {"at": -1.0, "rate": None}


def budget_set(rate: int | None) -> None:
    """Set the expensive-POST budget of every node at run time (None: back to the setting).
    Kept in the shared cache with no expiry; each process reads it at most once a second."""
    if rate is None:
        cache.delete(BUDGET_KEY)
    else:
        if rate < 0:
            raise ValueError("the budget is a number of placements a second, 0 or more")
        cache.set(BUDGET_KEY, int(rate), timeout=None)
    _budget_read["at"] = -1.0  # this process sees its own change at once


def budget_override() -> int | None:
    """The run-time budget (budget_set), None when there is none. One cache read a second per
    process; a cache that fails keeps the last value read."""
    now = time.monotonic()
    if now - _budget_read["at"] >= 1.0:
        _budget_read["at"] = now
        try:
            _budget_read["rate"] = cache.get(BUDGET_KEY)
        except Exception:  # the cache down must not stop orders
            logger.warning("admission budget override unavailable", exc_info=True)
    override = _budget_read["rate"]
    return None if override is None else int(override)


def budget_rate() -> int:
    """The budget in force: the run-time one if any, else ADMISSION_EXPENSIVE_RATE."""
    override = budget_override()
    return settings.ADMISSION_EXPENSIVE_RATE if override is None else override


def _budget_spent() -> bool:
    """One more expensive POST this second, over every node (a fixed one-second window in the
    shared cache: one INCR). A cache that fails admits (shedding is a guard, not a gate)."""
    rate = budget_rate()
    if rate <= 0:
        return False
    key = f"admission:expensive:{int(time.time())}"
    try:
        used = 1 if cache.add(key, 1, timeout=5) else cache.incr(key)
    except Exception:  # the cache down must not stop orders
        logger.warning("admission budget unavailable; admitting", exc_info=True)
        return False
    return used > rate


def overloaded_response(request, reason: str) -> HttpResponse:
    retry = max(1, int(settings.ADMISSION_RETRY_AFTER_SECONDS))
    message = _("Too many shoppers at this moment. Nothing was saved; try again in %(s)s s.") % {
        "s": retry
    }
    if request.path_info.startswith("/api/"):
        response = JsonResponse(
            {"code": "overloaded", "message": message, "extra": {"retry_after": retry}},
            status=503,
        )
    else:
        from config.views import _stylesheet

        context = {"message": message, "retry_after": retry, "stylesheet": _stylesheet()}
        response = HttpResponse(render_to_string("503.html", context), status=503)
    response["Retry-After"] = str(retry)
    response["X-Shed-Reason"] = reason
    # Counted (shed_counts) and logged once at INFO, not as a server error per request: under
    # a burst Django's own ERROR line for every 503 would flood the log.
    response._has_been_logged = True
    logger.info("shed %s %s (%s)", request.method, request.path_info, reason)
    return response


class AdmissionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        global _in_flight
        exempt = _never_shed(request)
        with _lock:
            _in_flight += 1
            busy = _in_flight
        try:
            if not exempt:
                limit = settings.ADMISSION_MAX_IN_FLIGHT
                if limit and busy > limit:
                    _shed["in_flight"] += 1
                    return overloaded_response(request, "in_flight")
                if _expensive(request) and _budget_spent():
                    _shed["expensive"] += 1
                    return overloaded_response(request, "expensive")
            return self.get_response(request)
        finally:
            with _lock:
                _in_flight -= 1

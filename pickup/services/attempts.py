"""Entry limits: five wrong entries lock a kiosk, or an order, for a quarter of an hour.

Counted in the database, so every web process sees the same count.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from pickup.models import Attempt, Kiosk


def _limits() -> tuple[int, timedelta]:
    return settings.PICKUP_MAX_WRONG_TRIES, timedelta(minutes=settings.PICKUP_LOCKOUT_MINUTES)


def locked_until(*, kiosk: Kiosk | None = None, order=None) -> datetime | None:
    """When the lock of this kiosk (or order) ends, if it is locked now.

    Locked when the last N wrong entries all fell within one lockout window and the newest is
    less than a window old; attempts refused while locked do not extend the lock.
    """
    max_wrong, window = _limits()
    wrong = Attempt.objects.filter(outcome=Attempt.Outcome.WRONG)
    wrong = wrong.filter(kiosk=kiosk) if kiosk is not None else wrong.filter(order=order)
    recent = list(wrong.order_by("-at", "-id").values_list("at", flat=True)[:max_wrong])
    if len(recent) < max_wrong or recent[0] - recent[-1] > window:
        return None
    until = recent[0] + window
    return until if until > timezone.now() else None


def tries_left(*, kiosk: Kiosk | None = None, order=None) -> int:
    max_wrong, window = _limits()
    wrong = Attempt.objects.filter(outcome=Attempt.Outcome.WRONG, at__gte=timezone.now() - window)
    wrong = wrong.filter(kiosk=kiosk) if kiosk is not None else wrong.filter(order=order)
    return max(max_wrong - wrong.count(), 0)

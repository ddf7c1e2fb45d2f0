"""Pickup reads: codes for an order, the journey of an order, timing statistics for staff."""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from marketplace.models import Order
from marketplace.selectors.orders import order_timeline
from pickup.models import Attempt, Kiosk, PickupCode

# The source's figure for the whole O2O process at the counter (DOMAIN.md).
SOURCE_AVERAGE_SECONDS = 120


def pickup_code_of(order) -> PickupCode | None:
    return PickupCode.objects.filter(order=order).first()


def pickup_order_for_user(*, user, order_no: str) -> Order | None:
    """The signed-in shopper's own order with its pickup code (if issued), in one read;
    someone else's order is None, exactly like one that does not exist."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return None
    return (
        Order.objects.select_related("pickup_code")
        .filter(shopper__user=user, number=str(order_no)[:32])
        .first()
    )


def kiosks_at(*, counter_code: str) -> QuerySet[Kiosk]:
    return Kiosk.objects.filter(counter__code=counter_code, revoked_at__isnull=True)


def attempts_recent(*, kiosk: Kiosk, limit: int = 20) -> QuerySet[Attempt]:
    return Attempt.objects.filter(kiosk=kiosk).order_by("-at", "-id")[:limit]


def uncollected_due() -> QuerySet[PickupCode]:
    """Codes flagged past the deadline, still uncollected: goods staff should return."""
    return (
        PickupCode.objects.filter(return_due_at__isnull=False, used_at__isnull=True)
        .select_related("order")
        .order_by("return_due_at")
    )


def order_journey(order) -> list[dict]:
    """The five steps with their times, as marketplace records them."""
    return [
        {"key": step.key, "label": str(step.label), "at": step.at.isoformat() if step.at else None}
        for step in order_timeline(order)
    ]


@dataclass
class DayTiming:
    day: date
    orders: int
    ready_median: float | None
    ready_p90: float | None
    handover_median: float | None
    handover_p90: float | None
    handover_mean: float | None

    @property
    def within_source_average(self) -> bool | None:
        if self.handover_mean is None:
            return None
        return self.handover_mean <= SOURCE_AVERAGE_SECONDS


def _p90(values: list[float]) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def timing_by_day(rows) -> list[DayTiming]:
    """Per business day (Asia/Shanghai): seconds from ordering to ready and to handover.

    `rows` are (created_at, released_at, delivered_at) of pickup orders; missing times skip.
    """
    tz = ZoneInfo(settings.TIME_ZONE)
    ready: dict[date, list[float]] = defaultdict(list)
    handed: dict[date, list[float]] = defaultdict(list)
    days: dict[date, int] = defaultdict(int)
    for created, released, delivered in rows:
        day = created.astimezone(tz).date()
        days[day] += 1
        if released:
            ready[day].append((released - created).total_seconds())
        if delivered:
            handed[day].append((delivered - created).total_seconds())
    out = []
    for day in sorted(days, reverse=True):
        r, h = sorted(ready[day]), sorted(handed[day])
        out.append(
            DayTiming(
                day=day,
                orders=days[day],
                ready_median=statistics.median(r) if r else None,
                ready_p90=_p90(r) if r else None,
                handover_median=statistics.median(h) if h else None,
                handover_p90=_p90(h) if h else None,
                handover_mean=statistics.fmean(h) if h else None,
            )
        )
    return out


def pickup_timing(*, days: int = 30, now: datetime | None = None) -> list[DayTiming]:
    since = (now or timezone.now()) - timedelta(days=days)
    rows = Order.objects.filter(delivery_mode="pickup", created_at__gte=since).values_list(
        "created_at", "released_at", "delivered_at"
    )
    return timing_by_day(rows)


def pickup_orders_without_code(*, limit: int = 500) -> QuerySet[Order]:
    return (
        Order.objects.filter(delivery_mode="pickup", pickup_code__isnull=True)
        .exclude(state__in=["cancelled", "expired", "rejected", "returned", "delivered"])
        .order_by("pk")[:limit]
    )

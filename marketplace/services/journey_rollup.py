"""Roll the O2O journey up per day (placed), merchant and counter, for the dashboard's long
ranges. Whole days are rebuilt from orders; the last RECHECK_DAYS before the mark are re-rolled
(a handover can come a day or two after the order); today is always read live."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from customs.selectors_stats import LATENCY_BOUNDS
from marketplace.models import JourneyDay, JourneyRollupMark, Order

SHANGHAI = ZoneInfo("Asia/Shanghai")
RECHECK_DAYS = 3


def delivered_pickups():
    return Order.objects.filter(
        state=Order.State.DELIVERED, delivery_mode=Order.Delivery.PICKUP
    ).order_by()


@transaction.atomic
def journey_days_refresh(*, start: dt.date, end: dt.date) -> int:
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=SHANGHAI)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
    span = ExpressionWrapper(F("delivered_at") - F("created_at"), output_field=DurationField())
    cumulative = {
        f"le_{i}": Count("id", filter=Q(span__lte=dt.timedelta(seconds=b)))
        for i, b in enumerate(LATENCY_BOUNDS)
    }
    rows = (
        delivered_pickups()
        .filter(created_at__gte=lo, created_at__lt=hi, delivered_at__isnull=False)
        .annotate(d=TruncDate("created_at", tzinfo=SHANGHAI), span=span)
        .values("d", "merchant__code", "counter_code")
        .annotate(n=Count("id"), total=Sum("span"), **cumulative)
    )
    days = []
    for r in rows:
        le = [r[f"le_{i}"] for i in range(len(LATENCY_BOUNDS))] + [r["n"]]
        per = [le[0]] + [le[i] - le[i - 1] for i in range(1, len(le))]
        days.append(
            JourneyDay(
                day=r["d"],
                merchant_code=r["merchant__code"] or "",
                counter_code=r["counter_code"],
                delivered=r["n"],
                seconds=r["total"].total_seconds() if r["total"] else 0.0,
                **{f"j_{i}": n for i, n in enumerate(per)},
            )
        )
    JourneyDay.objects.filter(day__gte=start, day__lte=end).delete()
    JourneyDay.objects.bulk_create(days, batch_size=2000)
    return len(days)


def journey_days_catch_up() -> int:
    mark, _created = JourneyRollupMark.objects.get_or_create(pk=1)
    last = timezone.localtime(timezone.now(), SHANGHAI).date() - dt.timedelta(days=1)
    if mark.through:
        start = mark.through - dt.timedelta(days=RECHECK_DAYS - 1)
    else:
        first = delivered_pickups().order_by("created_at").values_list("created_at", flat=True)
        first = first.first()
        if first is None:
            return 0
        start = timezone.localtime(first, SHANGHAI).date()
    if start > last:
        return 0
    written = journey_days_refresh(start=start, end=last)
    JourneyRollupMark.objects.filter(pk=mark.pk).update(through=last, refreshed_at=timezone.now())
    return written


def journey_rolled_up_through() -> dt.date | None:
    return JourneyRollupMark.objects.filter(pk=1).values_list("through", flat=True).first()


__all__ = ["journey_days_catch_up", "journey_days_refresh", "journey_rolled_up_through"]

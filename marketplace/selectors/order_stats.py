"""Order statistics for supervision: the O2O journey, placing to handover, as a histogram.

Complete days up to the journey rollup's mark come from JourneyDay; the rest (today, days not
yet rolled up, partial days) from orders delivered at a counter that were placed in the range,
through the (state, created_at) index. Same buckets as customs' release latency, so the two
compare against the source's two-minute average.
"""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Sum

from customs.selectors_stats import LATENCY_BOUNDS, Latency, LatencyBucket, duration_histogram
from marketplace.models import JourneyDay
from marketplace.services.journey_rollup import delivered_pickups, journey_rolled_up_through

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _live(start, end, merchant_code, counter) -> Latency:
    orders = delivered_pickups().filter(created_at__gte=start, created_at__lt=end)
    if merchant_code:
        orders = orders.filter(merchant__code=merchant_code)
    if counter:
        orders = orders.filter(counter_code=counter)
    return duration_histogram(orders, "created_at", "delivered_at")


def journey_time(
    *, start: datetime, end: datetime, merchant_code: str | None = None, counter: str | None = None
) -> Latency:
    through = journey_rolled_up_through()
    local_start = start.astimezone(SHANGHAI)
    if through is None or local_start.time() != dt.time.min:
        return _live(start, end, merchant_code, counter)
    cut_day = min(end.astimezone(SHANGHAI).date(), through + dt.timedelta(days=1))
    if cut_day <= local_start.date():
        return _live(start, end, merchant_code, counter)
    cut = dt.datetime.combine(cut_day, dt.time.min, tzinfo=SHANGHAI)
    live = (
        _live(cut, end, merchant_code, counter)
        if cut < end
        else Latency(0, None, [LatencyBucket(b, 0) for b in (*LATENCY_BOUNDS, None)])
    )
    days = JourneyDay.objects.filter(day__gte=local_start.date(), day__lt=cut_day)
    if merchant_code:
        days = days.filter(merchant_code=merchant_code)
    if counter:
        days = days.filter(counter_code=counter)
    sums = days.order_by().aggregate(
        n=Sum("delivered"),
        seconds=Sum("seconds"),
        **{f"j_{i}": Sum(f"j_{i}") for i in range(len(LATENCY_BOUNDS) + 1)},
    )
    n = (sums["n"] or 0) + live.orders
    if not n:
        return live
    seconds = (sums["seconds"] or 0) + (live.average_seconds or 0) * live.orders
    buckets = [
        LatencyBucket(b.upper_seconds, b.orders + (sums[f"j_{i}"] or 0))
        for i, b in enumerate(live.buckets)
    ]
    return Latency(n, seconds / n, buckets)

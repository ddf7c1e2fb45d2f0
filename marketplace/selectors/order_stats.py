"""Order statistics for supervision: the O2O journey, placing to handover, as a histogram.

Reads orders delivered at a counter that were placed in the range: the (state, created_at)
index serves the filter, and the same histogram as customs' release latency keeps the two
comparable against the source's two-minute average.
"""

from __future__ import annotations

from datetime import datetime

from customs.selectors_stats import Latency, duration_histogram
from marketplace.models import Order


def journey_time(
    *, start: datetime, end: datetime, merchant_code: str | None = None, counter: str | None = None
) -> Latency:
    orders = Order.objects.filter(
        state=Order.State.DELIVERED,
        created_at__gte=start,
        created_at__lt=end,
        delivery_mode=Order.Delivery.PICKUP,
    ).order_by()
    if merchant_code:
        orders = orders.filter(merchant__code=merchant_code)
    if counter:
        orders = orders.filter(counter_code=counter)
    return duration_histogram(orders, "created_at", "delivered_at")

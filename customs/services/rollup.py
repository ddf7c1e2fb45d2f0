"""The daily clearance rollup behind the dashboard's long ranges.

`clearance_days_refresh` recomputes whole Asia/Shanghai days from OrderClearance with three
grouped queries (by day filed, declared, released) and replaces those days' rows. The beat task
re-rolls the last days before the mark (late rejections and holds land on the day the order was
filed) and moves the mark to yesterday; today is always read live.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from customs.models import ClearanceDay, ClearanceEvent, OrderClearance, RollupMark

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARK = "clearance_days"
LATENCY_BOUNDS = (5, 10, 30, 60, 120, 300, 900, 3600)
RECHECK_DAYS = 2


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=SHANGHAI),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI),
    )


def _grouped(field: str, lo, hi, **extra):
    return (
        OrderClearance.objects.filter(**{f"{field}__gte": lo, f"{field}__lt": hi})
        .order_by()
        .annotate(d=TruncDate(field, tzinfo=SHANGHAI), **extra)
        .values("d", "ebc_code", "destination_code")
    )


@transaction.atomic
def clearance_days_refresh(*, start: dt.date, end: dt.date) -> int:
    """Rebuild the rows of days start..end (inclusive); returns the rows written."""
    lo, hi = _bounds(start, end)
    rows: dict[tuple, dict] = defaultdict(dict)
    held = ClearanceEvent.objects.filter(clearance=OuterRef("pk"), to_state="held")
    for r in _grouped("created_at", lo, hi).annotate(
        filed=Count("id"),
        filed_value=Sum("goods_value"),
        rejected=Count("id", filter=Q(state=OrderClearance.State.REJECTED)),
        held=Count("id", filter=Q(Exists(held))),
    ):
        rows[(r["d"], r["ebc_code"], r["destination_code"])].update(
            filed=r["filed"],
            filed_value=r["filed_value"] or Decimal("0"),
            rejected=r["rejected"],
            held=r["held"],
        )
    for r in _grouped("declared_at", lo, hi).annotate(n=Count("id"), value=Sum("goods_value")):
        rows[(r["d"], r["ebc_code"], r["destination_code"])].update(
            declared=r["n"], declared_value=r["value"] or Decimal("0")
        )
    span = ExpressionWrapper(F("released_at") - F("paid_at"), output_field=DurationField())
    buckets = {
        f"lat_{i}": Count("id", filter=Q(span__lte=dt.timedelta(seconds=b)))
        for i, b in enumerate(LATENCY_BOUNDS)
    }
    released = (
        _grouped("released_at", lo, hi, span=span)
        .filter(paid_at__isnull=False)
        .annotate(n=Count("id"), total=Sum("span"), **buckets)
    )
    for r in released:
        # Cumulative counts (<= bound) -> per-bucket counts.
        cumulative = [r[f"lat_{i}"] for i in range(len(LATENCY_BOUNDS))] + [r["n"]]
        per = [cumulative[0]] + [cumulative[i] - cumulative[i - 1] for i in range(1, 9)]
        rows[(r["d"], r["ebc_code"], r["destination_code"])].update(
            released=r["n"],
            latency_seconds=r["total"].total_seconds() if r["total"] else 0.0,
            **{f"lat_{i}": n for i, n in enumerate(per)},
        )
    ClearanceDay.objects.filter(day__gte=start, day__lte=end).delete()
    ClearanceDay.objects.bulk_create(
        [
            ClearanceDay(day=d, ebc_code=ebc, destination_code=dest, **values)
            for (d, ebc, dest), values in rows.items()
        ],
        batch_size=2000,
    )
    return len(rows)


def yesterday() -> dt.date:
    return timezone.localtime(timezone.now(), SHANGHAI).date() - dt.timedelta(days=1)


def clearance_days_catch_up() -> int:
    """Roll up every complete day not yet rolled up (the first run backfills from the first
    clearance), re-rolling RECHECK_DAYS before the mark; then move the mark to yesterday."""
    mark, _created = RollupMark.objects.get_or_create(name=MARK)
    last = yesterday()
    if mark.through:
        start = mark.through - dt.timedelta(days=RECHECK_DAYS - 1)
    else:
        first = OrderClearance.objects.order_by("created_at").values_list("created_at", flat=True)
        first = first.first()
        if first is None:
            return 0
        start = timezone.localtime(first, SHANGHAI).date()
    if start > last:
        return 0
    written = clearance_days_refresh(start=start, end=last)
    RollupMark.objects.filter(pk=mark.pk).update(through=last, refreshed_at=timezone.now())
    return written


def rolled_up_through() -> dt.date | None:
    return RollupMark.objects.filter(name=MARK).values_list("through", flat=True).first()

"""Reads of the warehouse: today's waves, the pick list in walk order, what waits, and the
release -> dispatch timeliness per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from dispatch.models import Mismatch, PickLine, Shipment, Wave

S = Shipment.State


def local_day(at: datetime | None = None) -> date:
    return timezone.localtime(at or timezone.now()).date()


def waves_today() -> QuerySet[Wave]:
    """Today's waves (Asia/Shanghai) and any still open from earlier days."""
    return (
        Wave.objects.filter(Q(day=local_day()) | Q(state=Wave.State.OPEN))
        .annotate(
            orders=Count("shipments", distinct=True),
            stopped=Count("shipments", filter=Q(shipments__state=S.STOPPED), distinct=True),
        )
        .order_by("state", "-day", "id")
    )


def wave_by_number(number: str) -> Wave | None:
    return Wave.objects.filter(number=number).first()


def shipment_by_order(order_no: str) -> Shipment | None:
    return Shipment.objects.select_related("wave").filter(order_no=order_no).first()


def shipments_waiting() -> QuerySet[Shipment]:
    """Released, not yet in a wave (oldest deadline first)."""
    return Shipment.objects.filter(wave__isnull=True, state=S.PICKING).order_by("due_at", "id")


def shipments_held() -> QuerySet[Shipment]:
    """Taken out of their wave after a short pick or weight problem: a supervisor requeues."""
    return Shipment.objects.filter(wave__isnull=True, state=S.STOPPED).order_by("due_at", "id")


def shipments_to_pack() -> QuerySet[Shipment]:
    """Picked (weigh and pack), packed (hand to the courier) or stopped at the scale."""
    return (
        Shipment.objects.filter(
            Q(state__in=[S.PICKED, S.PACKED])
            | Q(state=S.STOPPED, mismatches__kind=Mismatch.Kind.WEIGHT,
                mismatches__resolved_at__isnull=True)
        )
        .select_related("wave")
        .distinct()
        .order_by("due_at", "id")
    )  # fmt: skip


def shipments_in_warehouse() -> QuerySet[Shipment]:
    return Shipment.objects.exclude(state__in=[S.DISPATCHED, S.DELIVERED])


def shipments_at_risk(*, now: datetime | None = None) -> QuerySet[Shipment]:
    """Still in the warehouse within DISPATCH_AT_RISK_HOURS of the deadline, or past it."""
    now = now or timezone.now()
    edge = now + timedelta(hours=settings.DISPATCH_AT_RISK_HOURS)
    return shipments_in_warehouse().filter(due_at__lte=edge).order_by("due_at", "id")


@dataclass(frozen=True)
class LocationGroup:
    location_code: str
    walk_order: int
    lines: list[PickLine]


def pick_list(wave: Wave) -> list[LocationGroup]:
    """The wave's lines grouped by location, locations in walk order."""
    lines = (
        PickLine.objects.filter(shipment__wave=wave)
        .select_related("shipment")
        .order_by("walk_order", "location_code", "item_no", "shipment__due_at", "shipment_id")
    )
    return [
        LocationGroup(code, walk, list(group))
        for (walk, code), group in groupby(lines, key=lambda x: (x.walk_order, x.location_code))
    ]


def open_mismatches(*, wave: Wave | None = None) -> QuerySet[Mismatch]:
    found = Mismatch.objects.filter(resolved_at__isnull=True).select_related("shipment", "line")
    if wave is not None:  # the walk through the wave: weight stops wait at the packing bench
        found = found.filter(shipment__wave=wave).exclude(kind=Mismatch.Kind.WEIGHT)
    return found.order_by("created_at", "id")


@dataclass(frozen=True)
class DispatchDay:
    day: date
    released: int  # delivery orders released by customs that day (Asia/Shanghai)
    dispatched: int  # of those, dispatched so far
    on_time: int  # dispatched within DISPATCH_TARGET_HOURS of release
    late: int  # dispatched after the target, or still in the warehouse past it
    waiting: int  # still in the warehouse, not yet late
    median_hours: float | None  # release -> dispatch of the dispatched ones

    @property
    def on_time_rate(self) -> float | None:
        done = self.on_time + self.late
        return self.on_time / done if done else None


def timeliness_by_day(
    *, start: datetime, end: datetime, ebc_code: str | None = None, now: datetime | None = None
) -> list[DispatchDay]:
    """Per day of release (Asia/Shanghai) in [start, end): how many left within the target.
    Reads one small row per shipment in the range (a warehouse's day is hundreds of parcels)."""
    now = now or timezone.now()
    rows = Shipment.objects.filter(released_at__gte=start, released_at__lt=end)
    if ebc_code:
        rows = rows.filter(ebc_code=ebc_code)
    days: dict[date, list] = {}
    for released_at, due_at, dispatched_at in rows.values_list(
        "released_at", "due_at", "dispatched_at"
    ).order_by():
        bucket = days.setdefault(local_day(released_at), [0, 0, 0, 0, 0, []])
        bucket[0] += 1
        if dispatched_at is not None:
            bucket[1] += 1
            bucket[5].append((dispatched_at - released_at).total_seconds() / 3600)
            bucket[2 if dispatched_at <= due_at else 3] += 1
        elif now > due_at:
            bucket[3] += 1
        else:
            bucket[4] += 1
    result = []
    for day in sorted(days):
        released, dispatched, on_time, late, waiting, hours = days[day]
        result.append(
            DispatchDay(day, released, dispatched, on_time, late, waiting, _median(hours))
        )
    return result


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def waybill_allocation(logistics_no: str):
    """What the courier answered when it allocated this waybill (label data), if it did."""
    from dispatch.models import WaybillAllocation

    return WaybillAllocation.objects.filter(logistics_no=logistics_no).first()

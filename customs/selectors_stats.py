"""Supervision statistics over customs' own records: every aggregate runs in the database.

One row per order in OrderClearance is the fact table (filed at, declared at, paid at,
released at, goods value, merchant, counter, outcome); ClearanceEvent says which orders were
held, RiskHit which rules fired. Each function takes a `Scope` (time range, optional merchant,
optional counter) and returns plain rows, so the dashboard, the CSV export and the yearly
report share one query each. Time buckets are in Asia/Shanghai, the customs calendar.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    Avg,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDay, TruncHour, TruncMonth

from customs.models import ClearanceDay, ClearanceEvent, Enterprise, OrderClearance, RiskHit

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZERO = Decimal("0.00")
TRUNC = {"hour": TruncHour, "day": TruncDay, "month": TruncMonth}


@dataclass(frozen=True)
class Scope:
    """[start, end) plus optional merchant (ebcCode) and counter (destination code)."""

    start: datetime
    end: datetime
    ebc_code: str | None = None
    counter: str | None = None


def _clearances(scope: Scope, field: str = "created_at") -> QuerySet[OrderClearance]:
    qs = OrderClearance.objects.filter(**{f"{field}__gte": scope.start, f"{field}__lt": scope.end})
    if scope.ebc_code:
        qs = qs.filter(ebc_code=scope.ebc_code)
    if scope.counter:
        qs = qs.filter(destination_code=scope.counter)
    return qs.order_by()


def _split(scope: Scope) -> tuple[tuple[dt.date, dt.date] | None, Scope | None]:
    """Which part of the range the daily rollup answers ([first day, day after last)), and
    which part must be read live: days after the rollup mark, today, and partial days."""
    from customs.services.rollup import rolled_up_through

    through = rolled_up_through()
    start = scope.start.astimezone(SHANGHAI)
    if through is None or start.time() != dt.time.min:
        return None, scope
    end = scope.end.astimezone(SHANGHAI)
    cut_day = min(end.date(), through + dt.timedelta(days=1))
    if cut_day <= start.date():
        return None, scope
    cut = dt.datetime.combine(cut_day, dt.time.min, tzinfo=SHANGHAI)
    live = Scope(cut, scope.end, scope.ebc_code, scope.counter) if cut < scope.end else None
    return (start.date(), cut_day), live


def _days(scope: Scope, days: tuple[dt.date, dt.date]) -> QuerySet[ClearanceDay]:
    qs = ClearanceDay.objects.filter(day__gte=days[0], day__lt=days[1])
    if scope.ebc_code:
        qs = qs.filter(ebc_code=scope.ebc_code)
    if scope.counter:
        qs = qs.filter(destination_code=scope.counter)
    return qs.order_by()


def _money(value) -> Decimal:
    """Sums come back as Decimal('112') on SQLite: always two places."""
    return ZERO if value is None else Decimal(value).quantize(Decimal("0.01"))


def _bucket(value) -> datetime:
    return value.astimezone(SHANGHAI) if isinstance(value, datetime) else value


@dataclass(frozen=True)
class VolumeRow:
    bucket: datetime
    declarations: int
    goods_value: Decimal


def declarations_by_period(scope: Scope, *, bucket: str = "day") -> list[VolumeRow]:
    """Inventory lists declared per hour/day/month and the goods value they carry."""
    days, live = _split(scope) if bucket != "hour" else (None, scope)
    totals: dict[datetime, list] = defaultdict(lambda: [0, ZERO])
    if days:
        by = "day" if bucket == "day" else TruncMonth("day")
        rolled = (
            _days(scope, days)
            .filter(declared__gt=0)
            .annotate(b=F(by) if isinstance(by, str) else by)
            .values("b")
            .annotate(n=Sum("declared"), value=Sum("declared_value"))
        )
        for r in rolled:
            key = dt.datetime.combine(r["b"], dt.time.min, tzinfo=SHANGHAI)
            totals[key][0] += r["n"]
            totals[key][1] += _money(r["value"])
    if live:
        trunc = TRUNC[bucket]("declared_at", tzinfo=SHANGHAI)
        for r in (
            _clearances(live, "declared_at")
            .annotate(b=trunc)
            .values("b")
            .annotate(n=Count("id"), value=Sum("goods_value"))
        ):
            key = _bucket(r["b"])
            totals[key][0] += r["n"]
            totals[key][1] += _money(r["value"])
    return [VolumeRow(key, n, _money(v)) for key, (n, v) in sorted(totals.items())]


@dataclass(frozen=True)
class Totals:
    declarations: int
    goods_value: Decimal


def declaration_totals(scope: Scope) -> Totals:
    days, live = _split(scope)
    n, value = 0, ZERO
    if days:
        row = _days(scope, days).aggregate(n=Sum("declared"), value=Sum("declared_value"))
        n, value = row["n"] or 0, _money(row["value"])
    if live:
        row = _clearances(live, "declared_at").aggregate(n=Count("id"), value=Sum("goods_value"))
        n, value = n + (row["n"] or 0), value + _money(row["value"])
    return Totals(n, _money(value))


@dataclass(frozen=True)
class ReasonRow:
    reason: str
    orders: int
    rate: float  # share of the orders filed in the range


def orders_filed(scope: Scope) -> int:
    days, live = _split(scope)
    filed = (_days(scope, days).aggregate(n=Sum("filed"))["n"] or 0) if days else 0
    return filed + (_clearances(live).count() if live else 0)


def rejections_by_reason(scope: Scope, *, limit: int = 20) -> tuple[int, list[ReasonRow]]:
    """(orders filed, rejected orders grouped by the authority's or pre-check's reason)."""
    filed = orders_filed(scope)
    rows = (
        _clearances(scope)
        .filter(state=OrderClearance.State.REJECTED)
        .values("reason")
        .annotate(n=Count("id"))
        .order_by("-n", "reason")[:limit]
    )
    return filed, [ReasonRow(r["reason"], r["n"], r["n"] / filed if filed else 0.0) for r in rows]


def holds_by_reason(scope: Scope, *, limit: int = 20) -> tuple[int, list[ReasonRow]]:
    """(orders filed, orders held for review or inspection in the range, by hold reason).

    An order held twice for the same reason counts once. Reads the hold events of the range
    through their (to_state, created_at) index instead of scanning every clearance; holds come
    minutes after filing, so over days this is the share of the orders filed.
    """
    filed = orders_filed(scope)
    events = ClearanceEvent.objects.filter(
        to_state=OrderClearance.State.HELD,
        created_at__gte=scope.start,
        created_at__lt=scope.end,
    )
    if scope.ebc_code:
        events = events.filter(clearance__ebc_code=scope.ebc_code)
    if scope.counter:
        events = events.filter(clearance__destination_code=scope.counter)
    rows = (
        events.order_by()
        .values("reason")
        .annotate(n=Count("clearance_id", distinct=True))
        .order_by("-n", "reason")[:limit]
    )
    return filed, [ReasonRow(r["reason"], r["n"], r["n"] / filed if filed else 0.0) for r in rows]


@dataclass(frozen=True)
class HitRow:
    bucket: datetime
    rule_code: str
    hits: int


def hits_by_rule(scope: Scope, *, bucket: str = "day") -> list[HitRow]:
    """Risk-rule hits per rule per period. A counter scope keeps hits on that counter's orders."""
    qs = RiskHit.objects.filter(created_at__gte=scope.start, created_at__lt=scope.end)
    if scope.ebc_code:
        qs = qs.filter(ebc_code=scope.ebc_code)
    if scope.counter:
        qs = qs.filter(
            order_no__in=OrderClearance.objects.filter(destination_code=scope.counter).values(
                "order_no"
            )
        )
    rows = (
        qs.order_by()
        .annotate(b=TRUNC[bucket]("created_at", tzinfo=SHANGHAI))
        .values("b", "rule_code")
        .annotate(n=Count("id"))
        .order_by("b", "rule_code")
    )
    return [HitRow(_bucket(r["b"]), r["rule_code"], r["n"]) for r in rows]


@dataclass(frozen=True)
class MerchantRow:
    ebc_code: str
    name: str
    orders: int
    goods_value: Decimal
    rejected: int
    held: int

    @property
    def rejection_rate(self) -> float:
        return self.rejected / self.orders if self.orders else 0.0


def _merchant_rows(scope: Scope) -> list[dict]:
    """Per merchant: orders filed, their value, rejected, held (rollup + live part)."""
    days, live = _split(scope)
    merged: dict[str, dict] = {}

    def add(rows) -> None:
        for r in rows:
            row = merged.setdefault(
                r["ebc_code"], {"ebc_code": r["ebc_code"], "n": 0, "value": ZERO,
                                "rejected": 0, "held": 0},
            )  # fmt: skip
            row["n"] += r["n"] or 0
            row["value"] += _money(r["value"])
            row["rejected"] += r["rejected"] or 0
            row["held"] += r["held"] or 0

    if days:
        add(
            _days(scope, days)
            .values("ebc_code")
            .annotate(
                n=Sum("filed"),
                value=Sum("filed_value"),
                rejected=Sum("rejected"),
                held=Sum("held"),
            )
        )
    if live:
        held = ClearanceEvent.objects.filter(
            clearance=OuterRef("pk"), to_state=OrderClearance.State.HELD
        )
        add(
            _clearances(live)
            .values("ebc_code")
            .annotate(
                n=Count("id"),
                value=Sum("goods_value"),
                rejected=Count("id", filter=Q(state=OrderClearance.State.REJECTED)),
                held=Count("id", filter=Q(Exists(held))),
            )
        )
    return [row for row in merged.values() if row["n"]]


def _named(rows) -> list[MerchantRow]:
    rows = list(rows)
    names = dict(
        Enterprise.objects.filter(
            role=Enterprise.Role.MERCHANT, code__in=[r["ebc_code"] for r in rows]
        ).values_list("code", "name")
    )
    return [
        MerchantRow(
            r["ebc_code"],
            names.get(r["ebc_code"], r["ebc_code"]),
            r["n"],
            _money(r["value"]),
            r["rejected"],
            r["held"],
        )
        for r in rows
    ]


def top_merchants_by_volume(scope: Scope, *, limit: int = 10) -> list[MerchantRow]:
    rows = sorted(_merchant_rows(scope), key=lambda r: (-r["n"], r["ebc_code"]))
    return _named(rows[:limit])


def top_merchants_by_rejection_rate(
    scope: Scope, *, limit: int = 10, min_orders: int = 1
) -> list[MerchantRow]:
    """Highest rejection rate first; merchants with fewer than min_orders orders are left out
    (one rejected order of one is not a pattern). Merchants number in the hundreds, not
    millions: the grouped rows are ranked here."""
    rows = [r for r in _merchant_rows(scope) if r["n"] >= min_orders]
    rows.sort(key=lambda r: (-r["rejected"] / r["n"], -r["rejected"], r["ebc_code"]))
    return _named(rows[:limit])


# Release latency (payment filed -> released), seconds; the last bucket is open-ended.
LATENCY_BOUNDS = (5, 10, 30, 60, 120, 300, 900, 3600)


@dataclass(frozen=True)
class LatencyBucket:
    upper_seconds: int | None  # None: above the last bound
    orders: int


@dataclass(frozen=True)
class Latency:
    orders: int
    average_seconds: float | None
    buckets: list[LatencyBucket]

    def percentile_bound(self, share: float) -> int | None:
        """Upper bound of the bucket holding the given share (p50 -> 0.5): 'p50 <= 30 s'."""
        if not self.orders:
            return None
        running = 0
        for bucket in self.buckets:
            running += bucket.orders
            if running >= share * self.orders:
                return bucket.upper_seconds
        return None


def duration_histogram(qs: QuerySet, start_field: str, end_field: str) -> Latency:
    """Histogram and mean of end - start, counted in one grouped query (SQLite and PostgreSQL)."""
    span = ExpressionWrapper(F(end_field) - F(start_field), output_field=DurationField())
    whens = [
        When(span__lte=timedelta(seconds=bound), then=Value(i))
        for i, bound in enumerate(LATENCY_BOUNDS)
    ]
    qs = qs.filter(**{f"{start_field}__isnull": False, f"{end_field}__isnull": False})
    rows = dict(
        qs.annotate(span=span)
        .annotate(b=Case(*whens, default=Value(len(LATENCY_BOUNDS)), output_field=IntegerField()))
        .values("b")
        .annotate(n=Count("id"))
        .values_list("b", "n")
    )
    average = qs.aggregate(avg=Avg(span))["avg"]
    buckets = [LatencyBucket(bound, rows.get(i, 0)) for i, bound in enumerate(LATENCY_BOUNDS)]
    buckets.append(LatencyBucket(None, rows.get(len(LATENCY_BOUNDS), 0)))
    return Latency(
        sum(rows.values()),
        average.total_seconds() if average is not None else None,
        buckets,
    )


def release_latency(scope: Scope) -> Latency:
    """Payment filed -> customs release, for orders released in the range."""
    days, live = _split(scope)
    latency = (
        duration_histogram(_clearances(live, "released_at"), "paid_at", "released_at")
        if live
        else Latency(0, None, [LatencyBucket(b, 0) for b in (*LATENCY_BOUNDS, None)])
    )
    if not days:
        return latency
    sums = _days(scope, days).aggregate(
        n=Sum("released"),
        seconds=Sum("latency_seconds"),
        **{f"lat_{i}": Sum(f"lat_{i}") for i in range(len(LATENCY_BOUNDS) + 1)},
    )
    n = (sums["n"] or 0) + latency.orders
    if not n:
        return latency
    seconds = (sums["seconds"] or 0) + (latency.average_seconds or 0) * latency.orders
    buckets = [
        LatencyBucket(b.upper_seconds, b.orders + (sums[f"lat_{i}"] or 0))
        for i, b in enumerate(latency.buckets)
    ]
    return Latency(n, seconds / n, buckets)


@dataclass(frozen=True)
class EnterpriseHistory:
    orders: int
    declared: int
    goods_value: Decimal
    rejected: int
    held: int
    hits: int
    hits_by_rule: dict[str, int]
    rejections: list[ReasonRow]
    holds: list[ReasonRow]


def enterprise_history(scope: Scope) -> EnterpriseHistory:
    """One merchant's record over the range (scope.ebc_code must be set)."""
    assert scope.ebc_code
    qs = _clearances(scope)
    row = qs.aggregate(
        n=Count("id"),
        declared=Count("id", filter=Q(declared_at__isnull=False)),
        value=Sum("goods_value"),
        rejected=Count("id", filter=Q(state=OrderClearance.State.REJECTED)),
    )
    _filed, holds = holds_by_reason(scope)
    _filed, rejections = rejections_by_reason(scope)
    hits = dict(
        RiskHit.objects.filter(
            ebc_code=scope.ebc_code, created_at__gte=scope.start, created_at__lt=scope.end
        )
        .order_by()
        .values("rule_code")
        .annotate(n=Count("id"))
        .values_list("rule_code", "n")
    )
    held = (
        ClearanceEvent.objects.filter(to_state=OrderClearance.State.HELD, clearance__in=qs)
        .values("clearance_id")
        .distinct()
        .count()
    )
    return EnterpriseHistory(
        orders=row["n"] or 0,
        declared=row["declared"] or 0,
        goods_value=_money(row["value"]),
        rejected=row["rejected"] or 0,
        held=held,
        hits=sum(hits.values()),
        hits_by_rule=hits,
        rejections=rejections,
        holds=holds,
    )


def merchant_enterprises() -> QuerySet[Enterprise]:
    return Enterprise.objects.filter(role=Enterprise.Role.MERCHANT)

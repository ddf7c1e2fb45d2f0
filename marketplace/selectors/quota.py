"""How much of the annual cross-border allowance a shopper has used."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connection
from django.db.models import F, Q, Sum
from django.utils import timezone

from marketplace.models import Order
from marketplace.services.tax import ANNUAL_LIMIT, ZERO, to_fen

# The allowance runs on the calendar year in China, whatever the server's time zone.
QUOTA_TZ = ZoneInfo("Asia/Shanghai")


def quota_year_bounds(on: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[1 January 00:00, next 1 January 00:00) Asia/Shanghai of the year containing `on`."""
    local = timezone.localtime(on or timezone.now(), QUOTA_TZ)
    start = dt.datetime(local.year, 1, 1, tzinfo=QUOTA_TZ)
    return start, dt.datetime(local.year + 1, 1, 1, tzinfo=QUOTA_TZ)


def annual_quota_used(*, shopper, on: dt.datetime | None = None) -> Decimal:
    """Dutiable value of the shopper's orders paid this Asia/Shanghai year that still count
    (paid, held, released, delivered: not cancelled, rejected, expired or returned)."""
    start, end = quota_year_bounds(on)
    total = Order.objects.filter(
        shopper=shopper,
        state__in=Order.QUOTA_STATES,
        paid_at__gte=start,
        paid_at__lt=end,
    ).aggregate(v=Sum(F("goods_value") + F("freight") + F("insurance")))["v"]
    return to_fen(Decimal(total)) if total is not None else ZERO


def annual_quota_held(*, shopper) -> Decimal:
    """Dutiable value of the shopper's placed, unpaid orders (our rule: each holds its share of
    the allowance until paid, expired or cancelled, so checkout never files an order that could
    not be paid within the year). Any placing date: an unpaid order is paid now or never, and it
    expires within BONDED_RESERVATION_TTL_MINUTES."""
    total = Order.objects.filter(shopper=shopper, state=Order.State.PLACED).aggregate(
        v=Sum(F("goods_value") + F("freight") + F("insurance"))
    )["v"]
    return to_fen(Decimal(total)) if total is not None else ZERO


def annual_quota_taken(*, shopper, on: dt.datetime | None = None) -> Decimal:
    """What a new order must fit beside: paid orders of the year plus unpaid orders' holds
    (annual_quota_used + annual_quota_held in one statement: checkout runs it per order)."""
    start, end = quota_year_bounds(on)
    value = F("goods_value") + F("freight") + F("insurance")
    paid = Q(state__in=Order.QUOTA_STATES, paid_at__gte=start, paid_at__lt=end)
    totals = Order.objects.filter(shopper=shopper).aggregate(
        paid=Sum(value, filter=paid), held=Sum(value, filter=Q(state=Order.State.PLACED))
    )
    return sum((to_fen(Decimal(v)) for v in totals.values() if v is not None), ZERO)


def annual_quota(*, shopper, on: dt.datetime | None = None) -> dict:
    """Limit, used (paid) and left for the account page and the API; what is left counts the
    holds of unpaid orders too, as checkout does."""
    used = annual_quota_used(shopper=shopper, on=on)
    held = annual_quota_held(shopper=shopper)
    start, _ = quota_year_bounds(on)
    return {
        "year": start.year,
        "limit": ANNUAL_LIMIT,
        "used": used,
        "remaining": max(ANNUAL_LIMIT - used - held, ZERO),
    }


# Annual allowance bands (yuan) for the supervision histogram; the last band is open-ended.
QUOTA_BANDS = (1000, 5000, 10000, 20000, int(ANNUAL_LIMIT))


QUOTA_BANDS_CACHE_SECONDS = 600


def quota_usage_distribution(*, year: int, fresh: bool = False) -> list[tuple[int | None, int]]:
    """quota_usage_bands(year), kept in the cache for QUOTA_BANDS_CACHE_SECONDS: it groups
    every paid order of the year by shopper (about a second on a million orders), and beat
    (`marketplace.tasks.quota_bands_warm`) refreshes the current year before it expires."""
    key = f"supervision:quota-bands:{year}"
    if not fresh:
        cached = cache.get(key)
        if cached is not None:
            return [tuple(row) for row in cached]
    rows = quota_usage_bands(year=year)
    cache.set(key, rows, QUOTA_BANDS_CACHE_SECONDS)
    return rows


def quota_usage_bands(*, year: int) -> list[tuple[int | None, int]]:
    """How many shoppers used how much of their allowance in an Asia/Shanghai year:
    [(band upper bound in yuan, shoppers)], None = above the annual limit.

    One statement: per-shopper sums in a subquery, counted per band outside it (the ORM
    cannot group an aggregate twice). Integer bounds, so SQLite compares numbers to numbers.
    """
    start = dt.datetime(year, 1, 1, tzinfo=QUOTA_TZ)
    end = dt.datetime(year + 1, 1, 1, tzinfo=QUOTA_TZ)
    cases = " ".join(f"WHEN used <= %s THEN {i}" for i in range(len(QUOTA_BANDS)))
    states = ", ".join("%s" for _ in Order.QUOTA_STATES)
    table = connection.ops.quote_name(Order._meta.db_table)
    # Table name from the model, numbers and states as parameters: nothing from the user.
    top = len(QUOTA_BANDS)
    sql = (
        f"SELECT band, COUNT(*) FROM (SELECT CASE {cases} ELSE {top} END AS band "  # noqa: S608
        f"FROM (SELECT shopper_id, SUM(goods_value + freight + insurance) AS used FROM {table} "
        f"WHERE state IN ({states}) AND paid_at >= %s AND paid_at < %s "
        "GROUP BY shopper_id) per_shopper) banded GROUP BY band"
    )
    # Raw SQL: adapt the bounds as the ORM would (UTC on SQLite, aware on PostgreSQL).
    bounds = [connection.ops.adapt_datetimefield_value(x) for x in (start, end)]
    params = [*QUOTA_BANDS, *[str(s) for s in Order.QUOTA_STATES], *bounds]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counts = dict(cursor.fetchall())
    return [(bound, counts.get(i, 0)) for i, bound in enumerate(QUOTA_BANDS)] + [
        (None, counts.get(len(QUOTA_BANDS), 0))
    ]

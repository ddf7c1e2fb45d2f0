"""How much of the annual cross-border allowance a shopper has used."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import F, Sum
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


def annual_quota(*, shopper, on: dt.datetime | None = None) -> dict:
    """Limit, used and left for the account page and the API."""
    used = annual_quota_used(shopper=shopper, on=on)
    start, _ = quota_year_bounds(on)
    return {
        "year": start.year,
        "limit": ANNUAL_LIMIT,
        "used": used,
        "remaining": max(ANNUAL_LIMIT - used, ZERO),
    }

"""Panels over marketplace orders: the O2O journey (placing -> handover) and annual quota use."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from marketplace.models import Order
from marketplace.selectors.order_stats import journey_time
from marketplace.selectors.quota import quota_usage_bands, quota_usage_distribution
from tests.marketplace.factories import OrderFactory, ShopperFactory
from tests.supervision.factories import AU, DE, at, merchants, platform_user

pytestmark = pytest.mark.django_db


_SHOPPER = {}


def _shopper():
    if "one" not in _SHOPPER or not type(_SHOPPER["one"]).objects.filter(pk=_SHOPPER["one"].pk):
        _SHOPPER["one"] = ShopperFactory(resident_id="11010519491231002X")
    return _SHOPPER["one"]


def _delivered(merchant, seconds, *, counter="C-ZZ1", placed=None, **kw):
    placed = placed or at(5)
    return OrderFactory(
        shopper=_shopper(),
        merchant=merchant,
        state=Order.State.DELIVERED,
        delivery_mode="pickup",
        counter_code=counter,
        created_at=placed,
        paid_at=placed + dt.timedelta(seconds=10),
        delivered_at=placed + dt.timedelta(seconds=seconds),
        **kw,
    )


def test_journey_histogram_by_merchant_and_counter():
    au, de = merchants()
    for seconds in (50, 100, 110):
        _delivered(au, seconds)
    _delivered(au, 4000, counter="C-ZZ2")
    _delivered(de, 20)
    _delivered(de, 90, placed=at(1, month=4))  # outside March
    OrderFactory(merchant=au, shopper=_shopper(), state=Order.State.PAID, created_at=at(5))
    start, end = at(1, 0), at(1, 0, month=4)
    everything = journey_time(start=start, end=end)
    assert everything.orders == 5
    assert {b.upper_seconds: b.orders for b in everything.buckets if b.orders} == {
        30: 1,
        60: 1,
        120: 2,
        None: 1,
    }
    au_only = journey_time(start=start, end=end, merchant_code=AU)
    assert au_only.orders == 4
    assert au_only.average_seconds == pytest.approx((50 + 100 + 110 + 4000) / 4)
    counter = journey_time(start=start, end=end, merchant_code=AU, counter="C-ZZ1")
    assert counter.orders == 3 and counter.percentile_bound(0.5) == 120
    assert journey_time(start=start, end=end, merchant_code=DE, counter="C-ZZ2").orders == 0


def test_quota_usage_bands_count_paid_orders_of_the_shanghai_year():
    shoppers = [ShopperFactory() for _ in range(4)]  # the factory's four valid IDs

    def paid(shopper, value, when, state=Order.State.PAID):
        OrderFactory(shopper=shopper, goods_value=Decimal(value), paid_at=when, state=state)

    paid(shoppers[0], "800.00", at(5))  # <= 1000
    paid(shoppers[1], "3000.00", at(5))
    paid(shoppers[1], "2500.00", at(6))  # 5500: <= 10000
    paid(shoppers[2], "26000.00", at(7))  # exactly the limit: <= 26000
    paid(shoppers[2], "9000.00", at(8), state=Order.State.CANCELLED)  # does not count
    paid(shoppers[3], "4000.00", dt.datetime(2025, 12, 31, 16, 30, tzinfo=dt.UTC))  # 2026 in SH
    paid(shoppers[3], "999.00", dt.datetime(2025, 12, 31, 15, 59, tzinfo=dt.UTC))  # 2025 in SH
    bands = dict(quota_usage_bands(year=2026))
    assert bands == {1000: 1, 5000: 1, 10000: 1, 20000: 0, 26000: 1, None: 0}
    # The dashboard's read is cached per year; fresh=True (beat's warm-up) recomputes.
    assert dict(quota_usage_distribution(year=2026)) == bands
    paid(shoppers[0], "300.00", at(9))  # 1100: moves to the <= 5000 band
    assert dict(quota_usage_distribution(year=2026)) == bands  # cached
    assert dict(quota_usage_distribution(year=2026, fresh=True))[5000] == 2
    assert dict(quota_usage_distribution(year=2026))[5000] == 2
    assert dict(quota_usage_bands(year=2025)) == {
        1000: 1, 5000: 0, 10000: 0, 20000: 0, 26000: 0, None: 0
    }  # fmt: skip


def test_journey_and_quota_panels_render_and_export(client):
    au, _de = merchants()
    _delivered(au, 100)
    client.force_login(platform_user())
    params = {"start": "2026-03-01", "end": "2026-03-31"}
    body = client.get("/supervision/", params, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "O2O journey time" in body and "120 s" in body
    en = {"HTTP_ACCEPT_LANGUAGE": "en"}
    rows = client.get("/supervision/", {**params, "panel": "journey", "format": "csv"}, **en)
    assert _csv(rows) == [
        ["time", "orders"],
        ["≤ 5 s", "0"], ["≤ 10 s", "0"], ["≤ 30 s", "0"], ["≤ 60 s", "0"],
        ["≤ 120 s", "1"],  # the one order, handed over 100 s after it was placed
        ["≤ 300 s", "0"], ["≤ 900 s", "0"], ["≤ 3600 s", "0"], ["longer", "0"],
    ]  # fmt: skip
    quota = client.get("/supervision/", {**params, "panel": "quota", "format": "csv"}, **en)
    assert _csv(quota) == [
        ["used this year", "shoppers"],
        ["≤ 1000 yuan", "1"],  # its shopper paid 1,000.00 this year
        ["≤ 5000 yuan", "0"], ["≤ 10000 yuan", "0"], ["≤ 20000 yuan", "0"],
        ["≤ 26000 yuan", "0"], ["over the limit", "0"],
    ]  # fmt: skip


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("through", [dt.date(2026, 3, 4), dt.date(2026, 3, 31)])
def test_journey_rollup_gives_the_same_histogram_as_the_live_query(through):
    from marketplace.models import JourneyDay, JourneyRollupMark
    from marketplace.services.journey_rollup import journey_days_catch_up, journey_days_refresh

    au, de = merchants()
    for seconds, day in ((50, 2), (100, 5), (110, 5), (4000, 9)):
        _delivered(au, seconds, placed=at(day))
    _delivered(de, 20, placed=at(5), counter="C-ZZ2")
    start, end = at(1, 0), at(1, 0, month=4)
    cases = [{}, {"merchant_code": AU}, {"counter": "C-ZZ2"}]

    def norm(x):
        return x.orders, round(x.average_seconds or 0, 3), x.buckets

    live = [norm(journey_time(start=start, end=end, **kw)) for kw in cases]
    assert journey_days_refresh(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)) == 4
    JourneyRollupMark.objects.create(pk=1, through=through)
    assert [norm(journey_time(start=start, end=end, **kw)) for kw in cases] == live
    assert sum(d.delivered for d in JourneyDay.objects.all()) == 5
    JourneyRollupMark.objects.all().delete()
    assert journey_days_catch_up() == 4

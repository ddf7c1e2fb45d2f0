"""Each aggregate against fixtures small enough to count by hand."""

import datetime as dt
from decimal import Decimal

import pytest

from customs import selectors_stats as stats
from tests.supervision.factories import AU, DE, at, clearance, hit, merchants, scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def march():
    """AU: 4 orders (2 on the 2nd, 1 on the 3rd, 1 rejected on the 3rd), DE: 2 orders on the
    3rd (one rejected, one held), plus rows outside March that must never be counted."""
    merchants()
    clearance(ebc=AU, created=at(2, 9), value="100.00")
    clearance(ebc=AU, created=at(2, 23, 30), value="50.50", held_reason="CEB621 (customs): 500")
    clearance(ebc=AU, created=at(3, 1), value="20.00", counter="C-ZZ2")
    clearance(ebc=AU, created=at(3, 2), value="10.00", state="rejected",
              reason="CEB621 (customs): price", declared=False)  # fmt: skip
    clearance(ebc=DE, created=at(3, 8), value="300.00", state="rejected",
              reason="CEB621 (customs): price")  # fmt: skip
    clearance(ebc=DE, created=at(3, 9), value="5.00", held_reason="CEB621 (ciq): 500")
    clearance(ebc=AU, created=at(28, 10, month=2), value="999.00")  # February
    clearance(ebc=AU, created=at(1, 0, month=4), value="999.00")  # April


def test_declarations_and_value_per_day_in_shanghai_days(march):
    rows = stats.declarations_by_period(scope(), bucket="day")
    # 23:30 on the 2nd (Shanghai) stays on the 2nd even though it is 15:30 UTC.
    got = [(r.bucket.date(), r.declarations, r.goods_value) for r in rows]
    assert got == [
        (dt.date(2026, 3, 2), 2, Decimal("150.50")),
        (dt.date(2026, 3, 3), 3, Decimal("325.00")),  # the undeclared rejection is not a list
    ]
    totals = stats.declaration_totals(scope())
    assert (totals.declarations, totals.goods_value) == (5, Decimal("475.50"))


def test_declarations_per_hour_and_per_month(march):
    hours = [(r.bucket.hour, r.declarations) for r in stats.declarations_by_period(
        scope(2, 3), bucket="hour")]  # fmt: skip
    assert hours == [(9, 1), (23, 1)]
    months = stats.declarations_by_period(scope(1, 1, month=4, year=2026) and
                                          stats.Scope(at(1, 0, month=1), at(1, 0, month=5)),
                                          bucket="month")  # fmt: skip
    assert [(r.bucket.month, r.declarations) for r in months] == [(2, 1), (3, 5), (4, 1)]


def test_merchant_and_counter_filters(march):
    assert stats.declaration_totals(scope(ebc_code=DE)).declarations == 2
    assert stats.declaration_totals(scope(counter="C-ZZ2")).goods_value == Decimal("20.00")
    assert stats.declaration_totals(scope(ebc_code=DE, counter="C-ZZ2")).declarations == 0


def test_rejection_rate_by_reason(march):
    filed, rows = stats.rejections_by_reason(scope())
    assert filed == 6
    assert [(r.reason, r.orders) for r in rows] == [("CEB621 (customs): price", 2)]
    assert rows[0].rate == pytest.approx(2 / 6)
    filed, rows = stats.rejections_by_reason(scope(ebc_code=AU))
    assert (filed, rows[0].orders, rows[0].rate) == (4, 1, 0.25)


def test_inspection_rate_by_reason_counts_each_order_once(march):
    held = stats.OrderClearance.objects.get(reason="", goods_value=Decimal("50.50"))
    stats.ClearanceEvent.objects.create(
        clearance=held, from_state="held", to_state="held", reason="CEB621 (customs): 500"
    )
    filed, rows = stats.holds_by_reason(scope())
    assert filed == 6
    assert sorted((r.reason, r.orders) for r in rows) == [
        ("CEB621 (ciq): 500", 1),
        ("CEB621 (customs): 500", 1),
    ]


def test_hits_by_rule_per_day_with_merchant_and_counter_scope(march):
    order = stats.OrderClearance.objects.get(destination_code="C-ZZ2")
    hit("frequent_buyer", created=at(2, 10))
    hit("frequent_buyer", created=at(2, 11))
    hit("under_priced", created=at(2, 12), order_no=order.order_no)
    hit("under_priced", ebc=DE, created=at(4, 12))
    hit("under_priced", created=at(1, 12, month=4))  # outside
    rows = [(r.bucket.day, r.rule_code, r.hits) for r in stats.hits_by_rule(scope())]
    assert rows == [(2, "frequent_buyer", 2), (2, "under_priced", 1), (4, "under_priced", 1)]
    assert [(r.rule_code, r.hits) for r in stats.hits_by_rule(scope(ebc_code=DE))] == [
        ("under_priced", 1)
    ]
    assert [(r.rule_code, r.hits) for r in stats.hits_by_rule(scope(counter="C-ZZ2"))] == [
        ("under_priced", 1)
    ]


def test_top_merchants_by_volume_and_by_rejection_rate(march):
    by_volume = stats.top_merchants_by_volume(scope())
    got = [(m.ebc_code, m.name, m.orders, m.goods_value, m.rejected, m.held) for m in by_volume]
    assert got == [
        (AU, "Aussie Nature Co.", 4, Decimal("180.50"), 1, 1),
        (DE, "Rhein Dairy GmbH", 2, Decimal("305.00"), 1, 1),
    ]  # fmt: skip
    by_rate = stats.top_merchants_by_rejection_rate(scope())
    assert [(m.ebc_code, m.rejection_rate) for m in by_rate] == [(DE, 0.5), (AU, 0.25)]
    assert stats.top_merchants_by_rejection_rate(scope(), min_orders=3)[0].ebc_code == AU


def test_release_latency_histogram_average_and_percentile_bounds(db):
    merchants()
    for seconds in (3, 4, 8, 25, 25, 200):
        clearance(created=at(5), released_after=dt.timedelta(seconds=seconds))
    clearance(created=at(5), state="declared")  # not released: not counted
    latency = stats.release_latency(scope())
    counts = {b.upper_seconds: b.orders for b in latency.buckets}
    assert counts == {5: 2, 10: 1, 30: 2, 60: 0, 120: 0, 300: 1, 900: 0, 3600: 0, None: 0}
    assert latency.orders == 6
    assert latency.average_seconds == pytest.approx((3 + 4 + 8 + 25 + 25 + 200) / 6)
    assert latency.percentile_bound(0.5) == 10 and latency.percentile_bound(0.9) == 300


def test_empty_range_gives_empty_rows_not_errors(db):
    s = scope()
    assert stats.declarations_by_period(s) == []
    assert stats.declaration_totals(s).declarations == 0
    assert stats.rejections_by_reason(s) == (0, [])
    assert stats.holds_by_reason(s) == (0, [])
    assert stats.hits_by_rule(s) == []
    assert stats.top_merchants_by_volume(s) == []
    assert stats.release_latency(s).orders == 0
    assert stats.release_latency(s).percentile_bound(0.5) is None


def test_stock_against_book_per_warehouse_agrees_with_reconcile(db):
    from bonded.selectors import book_vs_stock_by_warehouse
    from bonded.services import reconcile
    from tests.customs.factories import Zone

    zone = Zone(stock=10)  # three items received: book 10 and stock 10 each
    from bonded.models import Balance

    Balance.objects.filter(item=zone.milk).update(on_hand=7)  # three units lost
    rows = book_vs_stock_by_warehouse()
    assert [(r.warehouse_code, r.book_balance, r.physical, r.items, r.items_differing)
            for r in rows] == [("CW", 30, 27, 3, 1)]  # fmt: skip
    lines = reconcile(differences_only=False)
    assert sum(x.book_balance for x in lines) == 30 and sum(x.physical for x in lines) == 27
    assert book_vs_stock_by_warehouse(owner_code="nobody") == []


def _everything(s):
    return (
        [(r.bucket, r.declarations, r.goods_value) for r in stats.declarations_by_period(s)],
        [(r.bucket, r.declarations, r.goods_value)
         for r in stats.declarations_by_period(s, bucket="month")],
        stats.declaration_totals(s),
        stats.rejections_by_reason(s),
        stats.holds_by_reason(s),
        stats.top_merchants_by_volume(s),
        stats.top_merchants_by_rejection_rate(s),
        _norm(stats.release_latency(s)),
    )  # fmt: skip


def _norm(latency):
    return latency.orders, round(latency.average_seconds or 0, 3), latency.buckets


@pytest.mark.parametrize("through", [dt.date(2026, 3, 2), dt.date(2026, 3, 31)])
@pytest.mark.parametrize("ebc", [None, DE])
def test_daily_rollup_gives_the_same_figures_as_the_live_queries(march, through, ebc):
    from customs.models import ClearanceDay, RollupMark
    from customs.services.rollup import clearance_days_refresh

    for seconds in (3, 40, 200):
        clearance(ebc=DE, created=at(3, 12), released_after=dt.timedelta(seconds=seconds))
    s = stats.Scope(at(1, 0, month=2), at(1, 0, month=5), ebc_code=ebc)
    live = _everything(s)
    written = clearance_days_refresh(start=dt.date(2026, 2, 1), end=dt.date(2026, 4, 30))
    assert written == ClearanceDay.objects.count() > 0
    RollupMark.objects.create(name="clearance_days", through=through)
    assert stats._split(s)[0] is not None  # the rollup really answers part of the range
    assert _everything(s) == live


def test_catch_up_backfills_then_moves_the_mark_to_yesterday(march):
    from customs.models import ClearanceDay, RollupMark
    from customs.services.rollup import clearance_days_catch_up, yesterday

    assert clearance_days_catch_up() > 0
    assert RollupMark.objects.get(name="clearance_days").through == yesterday()
    days = ClearanceDay.objects.filter(day__month=3)
    assert sum(d.filed for d in days) == 6 and sum(d.rejected for d in days) == 2
    assert sum(d.held for d in days) == 2 and sum(d.declared for d in days) == 5
    clearance_days_catch_up()  # again: re-rolls the last days, changes nothing
    assert sum(d.filed for d in ClearanceDay.objects.filter(day__month=3)) == 6

"""Per-order and annual limits: the edges, to the fen, and what counts toward the year."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from marketplace.errors import AnnualQuotaExceeded, OrderOverTransactionLimit
from marketplace.models import Order
from marketplace.selectors.quota import annual_quota, annual_quota_used
from marketplace.services.quota import quota_check, shopper_quota_check
from tests.marketplace.factories import OrderFactory, ShopperFactory

D = Decimal
SH = ZoneInfo("Asia/Shanghai")


def test_order_of_exactly_5000_with_several_items_is_allowed():
    decision = quota_check(order_value=D("5000.00"), units=3, used=D("0"))
    assert not decision.over_limit_item


def test_several_items_one_fen_over_5000_are_refused_with_a_split_hint():
    with pytest.raises(OrderOverTransactionLimit) as exc:
        quota_check(order_value=D("5000.01"), units=2, used=D("0"))
    assert exc.value.code == "over_transaction_limit"
    assert "5,000.00" in exc.value.message


def test_single_item_above_5000_goes_through_taxed_in_full():
    decision = quota_check(order_value=D("8000.00"), units=1, used=D("0"))
    assert decision.over_limit_item
    assert decision.remaining_after == D("18000.00")


def test_single_item_above_5000_still_needs_room_in_the_year():
    with pytest.raises(AnnualQuotaExceeded):
        quota_check(order_value=D("8000.00"), units=1, used=D("18000.01"))


def test_order_reaching_exactly_the_annual_limit_is_allowed():
    decision = quota_check(order_value=D("1000.00"), units=1, used=D("25000.00"))
    assert decision.remaining_after == D("0.00")


def test_order_one_fen_over_the_annual_limit_is_refused_saying_what_is_left():
    with pytest.raises(AnnualQuotaExceeded) as exc:
        quota_check(order_value=D("1000.01"), units=1, used=D("25000.00"))
    assert exc.value.code == "annual_quota_exceeded"
    assert exc.value.extra["remaining"] == "1000.00"
    assert "1,000.00" in exc.value.message


def test_quota_check_takes_used_amount_from_an_injected_reader():
    shopper = object()
    calls = []

    def reader(*, shopper, on):
        calls.append(shopper)
        return D("25999.99")

    with pytest.raises(AnnualQuotaExceeded):
        shopper_quota_check(shopper=shopper, order_value=D("0.02"), units=1, used_by=reader)
    assert calls == [shopper]


@pytest.mark.django_db
def test_paid_orders_count_until_cancelled_rejected_or_returned():
    shopper = ShopperFactory()
    paid_at = dt.datetime(2026, 6, 1, 12, tzinfo=SH)
    for state in [Order.State.PAID, Order.State.RELEASED, Order.State.DELIVERED, Order.State.HELD]:
        OrderFactory(shopper=shopper, state=state, goods_value=D("1000.00"), paid_at=paid_at)
    for state in [Order.State.CANCELLED, Order.State.REJECTED, Order.State.RETURNED]:
        OrderFactory(shopper=shopper, state=state, goods_value=D("5000.00"), paid_at=paid_at)
    OrderFactory(shopper=shopper, state=Order.State.PLACED, goods_value=D("900.00"))
    OrderFactory(shopper=ShopperFactory(), goods_value=D("3000.00"), paid_at=paid_at)
    assert annual_quota_used(shopper=shopper, on=paid_at) == D("4000.00")


@pytest.mark.django_db
def test_freight_and_insurance_count_toward_the_year():
    shopper = ShopperFactory()
    paid_at = dt.datetime(2026, 3, 1, tzinfo=SH)
    OrderFactory(
        shopper=shopper,
        goods_value=D("100.00"),
        freight=D("12.00"),
        insurance=D("0.50"),
        paid_at=paid_at,
    )
    assert annual_quota_used(shopper=shopper, on=paid_at) == D("112.50")


@pytest.mark.django_db
def test_the_year_is_the_asia_shanghai_calendar_year():
    shopper = ShopperFactory()
    # 2025-12-31 16:30 UTC is already 2026-01-01 00:30 in Shanghai.
    OrderFactory(
        shopper=shopper,
        goods_value=D("700.00"),
        paid_at=dt.datetime(2025, 12, 31, 16, 30, tzinfo=dt.UTC),
    )
    OrderFactory(
        shopper=shopper,
        goods_value=D("300.00"),
        paid_at=dt.datetime(2025, 12, 31, 15, 59, tzinfo=dt.UTC),
    )
    assert annual_quota_used(shopper=shopper, on=dt.datetime(2026, 5, 1, tzinfo=SH)) == D("700")
    assert annual_quota_used(shopper=shopper, on=dt.datetime(2025, 5, 1, tzinfo=SH)) == D("300")


@pytest.mark.django_db
def test_shopper_quota_check_reads_the_orders_and_refuses_one_fen_over():
    shopper = ShopperFactory()
    on = dt.datetime(2026, 8, 8, tzinfo=SH)
    for _ in range(5):
        OrderFactory(shopper=shopper, goods_value=D("5000.00"), paid_at=on)
    assert shopper_quota_check(shopper=shopper, order_value=D("1000.00"), units=2, on=on)
    with pytest.raises(AnnualQuotaExceeded):
        shopper_quota_check(shopper=shopper, order_value=D("1000.01"), units=2, on=on)
    assert annual_quota(shopper=shopper, on=on)["remaining"] == D("1000.00")


def _lines(*prices_and_qty):
    from marketplace.services.tax import TaxLineInput, TaxRates

    return [
        TaxLineInput(unit_price=D(p), quantity=q, rates=TaxRates(vat=D("0.13")), key=str(i))
        for i, (p, q) in enumerate(prices_and_qty)
    ]


def test_order_assess_checks_quota_on_goods_plus_freight_then_taxes():
    from marketplace.services.quota import order_assess

    def nothing_used(**_kw):
        return D("0")

    result = order_assess(
        shopper=None, lines=_lines(("3000.00", 1)), freight=D("0"), used_by=nothing_used
    )
    assert result.tax.total == D("273.00")
    assert result.quota.remaining_after == D("23000.00")
    # 4,990 of goods + 20 freight = 5,010 over two units: refused, freight counts.
    with pytest.raises(OrderOverTransactionLimit):
        order_assess(
            shopper=None,
            lines=_lines(("2495.00", 2)),
            freight=D("20.00"),
            used_by=nothing_used,
        )


def test_order_assess_taxes_the_single_over_limit_item_in_full():
    from marketplace.services.quota import order_assess

    result = order_assess(shopper=None, lines=_lines(("6000.00", 1)), used_by=lambda **_kw: D("0"))
    assert result.quota.over_limit_item and result.tax.over_limit
    assert result.tax.duty == D("0.00")  # this tax category has no duty rate
    assert result.tax.vat == D("780.00")  # full 13%


@pytest.mark.django_db
def test_unpaid_orders_hold_their_share_of_the_year(world):
    """Our rule: a placed, unpaid order holds its value until paid, expired or cancelled."""
    from marketplace.errors import AnnualQuotaExceeded
    from marketplace.selectors.quota import annual_quota
    from marketplace.services.orders import order_cancel
    from tests.marketplace.support import place

    OrderFactory(shopper=world.shopper, goods_value=D("18000.00"), paid_at=dt.datetime.now(SH))
    [first] = place(world, (world.shoes, 4))  # 22,000.00 spoken for
    assert annual_quota(shopper=world.shopper)["remaining"] == D("4000.00")
    [second] = place(world, (world.shoes, 4))  # exactly 26,000.00
    with pytest.raises(AnnualQuotaExceeded) as refused:
        place(world, (world.paste, 1))
    assert refused.value.extra["remaining"] == "0.00"
    order_cancel(order=second, actor="shopper", reason="")
    [third] = place(world, (world.shoes, 4))
    assert third.customs_value == D("4000.00") and first.state == "placed"

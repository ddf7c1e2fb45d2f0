"""Checkout and placing orders: one transaction per checkout, one order per merchant."""

from decimal import Decimal

import pytest

from bonded.models import Balance, Reservation
from customs import selectors as customs_selectors
from customs.models import Declaration, OrderClearance
from marketplace.errors import (
    AnnualQuotaExceeded,
    InvalidDelivery,
    InvalidQuantity,
    ListingUnavailable,
    OrderOverTransactionLimit,
    OutOfStock,
)
from marketplace.models import Order, OrderEvent, OrderLine
from marketplace.services import CartLine, HomeDelivery, PickupDelivery, order_place
from marketplace.services.checkout import checkout_preview
from tests.marketplace.factories import OrderFactory

pytestmark = pytest.mark.django_db


def place(world, *lines, shopper=None, delivery=None):
    return order_place(
        shopper=shopper or world.shopper,
        lines=[CartLine(listing.pk, qty) for listing, qty in lines],
        delivery=delivery or PickupDelivery(counter_code="C-ZZ1"),
        actor="test",
    )


def nothing_written():
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OrderEvent.objects.count() == 0
    assert Reservation.objects.count() == 0
    assert Declaration.objects.count() == 0
    assert OrderClearance.objects.count() == 0
    assert set(Balance.objects.values_list("reserved", flat=True)) == {0}


def test_placing_reserves_stock_files_customs_and_records_the_first_event(world):
    [order] = place(world, (world.paste, 2))

    assert order.number.startswith("BP") and len(order.number) == 16
    assert order.state == "placed" and order.delivery_mode == "pickup"
    assert order.counter_code == "C-ZZ1" and order.storage_code == "CW-A"
    assert order.goods_value == Decimal("100.00")
    assert order.tax_total == Decimal("9.10")
    assert order.total == Decimal("109.10")
    line = order.lines.get()
    assert (line.item_no, line.quantity, line.unit_price) == ("PASTE01", 2, Decimal("50.00"))
    assert Reservation.objects.get(reference=order.number).quantity == 2
    assert Balance.objects.get(location=world.storage, item=world.paste.item).reserved == 2
    view = customs_selectors.order_clearance(order.number)
    assert view.state == "filing"
    assert {d.message_type for d in view.declarations} == {"CEB311", "CEB511"}
    event = order.events.get()
    assert (event.from_state, event.to_state, event.actor) == ("", "placed", "test")


def test_a_cart_with_two_merchants_becomes_two_orders(world):
    orders = place(world, (world.paste, 1), (world.milk, 1))

    assert len(orders) == 2
    assert {o.merchant.code for o in orders} == {world.merchant.code, world.merchant2.code}
    assert len({o.number for o in orders}) == 2
    ebc = set(Declaration.objects.filter(kind="order").values_list("ebc_code", flat=True))
    assert ebc == {world.merchant.code, world.merchant2.code}


def test_prices_come_from_the_listing_never_from_the_request(world):
    # CartLine has no price at all; a tampered price posted to the page is covered in the
    # view test. Changing the listing price changes what the order costs.
    world.paste.price = Decimal("60.00")
    world.paste.save()
    [order] = place(world, (world.paste, 1))
    assert order.lines.get().unit_price == Decimal("60.00")


@pytest.mark.parametrize("qty", [0, -1, 100, 10**9, "x"])
def test_bad_quantities_are_refused_and_nothing_is_written(world, qty):
    with pytest.raises(InvalidQuantity):
        place(world, (world.paste, qty))
    nothing_written()


def test_over_stock_names_the_product_and_leaves_nothing_half_written(world):
    # The first order (other merchant) would succeed; the second is short: all rolled back.
    with pytest.raises(OutOfStock) as exc:
        place(world, (world.milk, 1), (world.paste, 51))
    assert world.paste.name in exc.value.message
    assert exc.value.extra["available"] == 50
    nothing_written()


def test_a_customs_precheck_refusal_rolls_back_the_reservation_but_keeps_its_risk_hit(world):
    from customs.errors import NotOnPositiveList
    from customs.models import PositiveListEntry, RiskHit

    PositiveListEntry.objects.filter(hs_code="3306101000").delete()
    with pytest.raises(NotOnPositiveList) as exc:
        place(world, (world.paste, 1))
    assert exc.value.code
    nothing_written()
    hit = RiskHit.objects.get()
    assert (hit.rule_code, hit.ebc_code) == ("positive_list", world.paste.merchant.code)
    assert hit.order_no.startswith("BP")


def test_over_annual_quota_by_one_fen_says_how_much_room_is_left(world):
    OrderFactory(shopper=world.shopper, state="paid", goods_value=Decimal("25950.01"),
                 paid_at=__import__("django.utils.timezone").utils.timezone.now())  # fmt: skip
    with pytest.raises(AnnualQuotaExceeded) as exc:
        place(world, (world.paste, 1))  # 50.00 into 49.99 of room
    assert "49.99" in exc.value.message
    assert Order.objects.count() == 1
    assert Reservation.objects.count() == 0


def test_exactly_at_the_annual_limit_is_accepted(world):
    from django.utils import timezone

    OrderFactory(shopper=world.shopper, state="paid", goods_value=Decimal("25950.00"),
                 paid_at=timezone.now())  # fmt: skip
    [order] = place(world, (world.paste, 1))
    assert order.customs_value == Decimal("50.00")


def test_two_orders_in_one_checkout_share_the_annual_room(world):
    from django.utils import timezone

    OrderFactory(shopper=world.shopper, state="paid", goods_value=Decimal("25700.00"),
                 paid_at=timezone.now())  # fmt: skip
    # 200 for the paste merchant fits alone, plus 300 milk does not: refused as a whole.
    with pytest.raises(AnnualQuotaExceeded):
        place(world, (world.paste, 4), (world.milk, 1))
    assert Order.objects.count() == 1


def test_several_items_above_the_transaction_limit_are_refused(world):
    with pytest.raises(OrderOverTransactionLimit):
        place(world, (world.shoes, 6))
    nothing_written()


def test_pickup_only_at_counters_inside_the_zone(world):
    with pytest.raises(InvalidDelivery):
        place(world, (world.paste, 1), delivery=PickupDelivery(counter_code="C-OUT"))
    with pytest.raises(InvalidDelivery):
        place(world, (world.paste, 1), delivery=PickupDelivery(counter_code="CW-A"))
    nothing_written()


def test_home_delivery_leaves_from_the_dock_with_freight(world):
    [order] = place(
        world,
        (world.paste, 2),
        delivery=HomeDelivery(consignee="张三", phone="13800000009", address="郑州市金水路 1 号"),
    )
    assert order.delivery_mode == "delivery" and order.destination_code == "CW-DOCK"
    assert order.freight == Decimal("10.00")
    assert order.consignee_phone == "13800000009"


def test_hidden_listings_and_suspended_merchants_are_refused(world):
    world.paste.is_active = False
    world.paste.save()
    with pytest.raises(ListingUnavailable):
        place(world, (world.paste, 1))
    world.merchant2.status = "suspended"
    world.merchant2.save()
    with pytest.raises(ListingUnavailable):
        place(world, (world.milk, 1))
    nothing_written()


def test_preview_shows_tax_per_line_and_quota_room(world):
    preview = checkout_preview(
        shopper=world.shopper,
        lines=[CartLine(world.serum.pk, 1), CartLine(world.milk.pk, 1)],
        delivery=PickupDelivery(counter_code="C-ZZ1"),
    )
    assert preview.ok
    serum_line = next(x for o in preview.orders for x in o.lines if x.listing == world.serum)
    assert serum_line.tax == Decimal("230.59")
    assert preview.quota_remaining == Decimal("26000.00")
    assert preview.quota_remaining_after == Decimal("24700.00")
    nothing_written()


def test_preview_lists_over_quota_and_stock_problems_instead_of_raising(world):
    preview = checkout_preview(
        shopper=world.shopper,
        lines=[CartLine(world.paste.pk, 99)],
        delivery=PickupDelivery(counter_code="C-ZZ1"),
    )
    assert not preview.ok
    assert any("50" in p for p in preview.problems)


def test_a_single_item_above_the_transaction_limit_can_be_ordered_with_full_duty(world):
    world.shoes.price = Decimal("6000.00")
    world.shoes.save()
    [order] = place(world, (world.shoes, 1))
    assert order.tax_total == Decimal("1458.00")  # duty 600 + VAT 13% of 6,600


def test_placement_reads_reference_rows_once_per_cache_period(
    world, settings, django_capture_on_commit_callbacks
):
    """Counters, storage, risk rules, parties, positive list and book records come from the
    per-process reference cache after the first order (bench/README.md: 33 -> 21 statements,
    plus the shopper's quota lock since #15)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.REFERENCE_CACHE_SECONDS = 60
    with (
        CaptureQueriesContext(connection) as first,
        django_capture_on_commit_callbacks(execute=True),
    ):
        place(world, (world.paste, 1))
    with CaptureQueriesContext(connection) as second:
        place(world, (world.paste, 1))
    assert len(first.captured_queries) - len(second.captured_queries) >= 9
    assert len(second.captured_queries) <= 22

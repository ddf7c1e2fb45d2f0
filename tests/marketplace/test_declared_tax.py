"""One tax engine: what the shopper is charged is what the order declaration (CEB311 taxTotal)
carries and what customs recomputes from the declared lines, to the fen.

The shopper's tax comes from marketplace.services.tax, the declared one is re-derived by
customs.tax.order_tax (the `tax_recompute` pre-check); both must be the same function.
"""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customs.models import Declaration
from customs.records import record_for
from customs.tax import order_tax
from marketplace.services import CartLine, HomeDelivery, PickupDelivery, checkout_preview
from marketplace.services.tax import TaxLineInput, TaxRates, compute_tax
from tests.marketplace.factories import ListingFactory
from tests.marketplace.support import place

D = Decimal


def declared(order) -> tuple[dict, Decimal]:
    """The order declaration's CEB311 head as filed, and customs' own recomputation of its tax
    from the declared lines."""
    decl = Declaration.objects.get(order_no=order.number, kind="order")
    head = record_for(decl)
    if isinstance(head, tuple):  # (head, lines)
        head = head[0]
    head = head.get("head", head)
    p = decl.payload
    recomputed = order_tax(
        lines=p["lines"], freight=D(str(p["freight"])), insured_fee=D(str(p["insured_fee"]))
    )
    return head, recomputed


def shopper_tax(world, lines, delivery) -> Decimal:
    """What checkout shows the shopper before placing."""
    preview = checkout_preview(
        shopper=world.shopper,
        lines=[CartLine(listing.pk, qty) for listing, qty in lines],
        delivery=delivery,
    )
    [only] = preview.orders
    return only.tax_total


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "price", "qty", "tax"),
    [
        ("formula", "300.00", 10, "273.00"),  # infant formula 3,000.00: 9.1%
        ("serum", "1000.00", 1, "230.59"),  # high-end serum: 123.53 + 107.06
    ],
)
def test_domain_examples_declared_tax_is_the_shoppers_tax(world, name, price, qty, tax):
    listing = world.milk if name == "formula" else world.serum
    assert listing.price == D(price)
    pickup = PickupDelivery(counter_code="C-ZZ1")
    shown = shopper_tax(world, [(listing, qty)], pickup)
    [order] = place(world, (listing, qty))
    head, recomputed = declared(order)
    assert shown == order.tax_total == D(head["taxTotal"]) == recomputed == D(tax)
    if name == "serum":
        [line] = compute_tax(
            lines=[TaxLineInput(unit_price=listing.price, quantity=1, rates=COSMETICS)]
        ).lines
        assert (line.consumption_tax, line.vat) == (D("123.53"), D("107.06"))


@pytest.mark.django_db
def test_freight_is_spread_by_value_with_the_remainder_on_the_last_line(world, settings):
    """Home delivery's 10.00 over 50.00 + 1,000.00 + 1,000.00 (serum): 0.24, 4.88, 4.88 ...
    the last line takes what rounding left; per line and per tax, half up."""
    settings.DELIVERY_FREIGHT = D("10.00")
    lines = [(world.paste, 1), (world.shoes, 1), (world.serum, 1)]
    home = HomeDelivery(consignee="张三", phone="13800000009", address="郑州市金水路 1 号")
    shown = shopper_tax(world, lines, home)
    [order] = place(world, *lines, delivery=home)
    head, recomputed = declared(order)
    # 50/2050 x 10 = 0.2439 -> 0.24; 1000/2050 x 10 = 4.878 -> 4.88; last 10 - 5.12 = 4.88
    paste = D("50.24") * D("0.091")  # 4.57184 -> 4.57
    shoes = D("1004.88") * D("0.091")  # 91.44408 -> 91.44
    serum_c = D("1004.88") / D("0.85") * D("0.15") * D("0.7")  # 124.13 (124.132...)
    serum_v = D("1004.88") / D("0.85") * D("0.13") * D("0.7")  # 107.58 (107.581...)
    expected = sum(x.quantize(D("0.01")) for x in (paste, shoes, serum_c, serum_v))
    assert expected == D("327.72")
    assert shown == order.tax_total == D(head["taxTotal"]) == recomputed == expected
    assert D(head["freight"]) == D("10.00")


@pytest.mark.django_db
def test_a_single_over_limit_cosmetic_is_declared_with_the_tax_the_shopper_pays(world):
    """One high-end cream at 5,000.09 (above the per-order limit, one indivisible item): full
    duty 5%, consumption tax on value + duty, VAT on value + duty + consumption tax. The two
    engines of 59a9a3f disagreed here by a fen (the shopper 1,979.45, customs 1,979.44) and
    customs refused the order as a tax mismatch."""
    cream = ListingFactory(
        merchant=world.merchant, price=D("5000.09"), tax_category=world.cosmetics,
        item__hs_code="3304990099", item__item_no="CREAM01",
    )  # fmt: skip
    from bonded.services import StockLine, stock_receive

    stock_receive(
        reference="ENTRY-CW-CREAM", location_code=world.storage.code,
        entry_declaration_no="E460100000002", lines=[StockLine("CREAM01", 2)], actor="test",
    )  # fmt: skip
    pickup = PickupDelivery(counter_code="C-ZZ1")
    shown = shopper_tax(world, [(cream, 1)], pickup)
    [order] = place(world, (cream, 1))  # refused with customs_tax_mismatch before
    head, recomputed = declared(order)
    # duty 250.00; consumption 5,250.09 / 0.85 x 0.15 = 926.49; VAT 6,176.58 x 0.13 = 802.96
    assert shown == order.tax_total == D(head["taxTotal"]) == recomputed == D("1979.45")


COSMETICS = TaxRates(vat=D("0.13"), consumption=D("0.15"), duty=D("0.05"))
RATES = [
    TaxRates(vat=D("0.13"), duty=D("0.10")),  # ordinary goods
    TaxRates(vat=D("0.09"), duty=D("0.15")),  # food
    COSMETICS,
    TaxRates(vat=D("0.13"), consumption=D("0.30"), duty=D("0.10")),  # perfume-like
]
money = st.decimals(min_value=D("0.01"), max_value=D("9000.00"), places=2)
lines_st = st.lists(
    st.tuples(money, st.integers(1, 3), st.sampled_from(range(len(RATES)))), min_size=1, max_size=4
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=lines_st,
    freight=st.decimals(min_value=D("0"), max_value=D("80.00"), places=2),
    insurance=st.decimals(min_value=D("0"), max_value=D("20.00"), places=2),
)
def test_declared_and_shopper_tax_agree_to_the_fen_on_any_mix(lines, freight, insurance):
    """The shopper's engine and customs' recomputation from the declared lines (totalPrice,
    qty and rates as filed), within and above the limits, with freight and insurance."""
    inputs = [
        TaxLineInput(unit_price=price, quantity=qty, rates=RATES[r], key=str(i))
        for i, (price, qty, r) in enumerate(lines, start=1)
    ]
    shopper = compute_tax(lines=inputs, freight=freight, insurance=insurance)
    filed = [
        {
            "gnum": int(x.key),
            "qty": x.quantity,
            "price": x.unit_price,
            "total_price": x.value,
            "vat_rate": x.rates.vat,
            "consumption_tax_rate": x.rates.consumption,
            "duty_rate": x.rates.duty,
        }
        for x in inputs
    ]
    assert order_tax(lines=filed, freight=freight, insured_fee=insurance) == shopper.total

"""Tax recomputed from the declared data: DOMAIN.md's worked examples, to the fen."""

from decimal import Decimal

from customs.tax import order_tax


def line(price: str, *, qty: int = 1, vat="0.13", consumption="0", duty="0") -> dict:
    return {
        "total_price": Decimal(price),
        "qty": qty,
        "vat_rate": Decimal(vat),
        "consumption_tax_rate": Decimal(consumption),
        "duty_rate": Decimal(duty),
    }


def test_infant_formula_at_3000_pays_273():
    assert order_tax(lines=[line("3000.00")], freight=Decimal("0")) == Decimal("273.00")


def test_high_end_serum_at_1000_pays_230_59():
    serum = line("1000.00", consumption="0.15")
    assert order_tax(lines=[serum], freight=Decimal("0")) == Decimal("230.59")


def test_single_item_over_the_limit_pays_full_duty_then_vat_on_value_plus_duty():
    shoes = line("6000.00", duty="0.10")
    # duty 600.00; VAT 13% of 6,600.00 = 858.00; no 70% reduction
    assert order_tax(lines=[shoes], freight=Decimal("0")) == Decimal("1458.00")


def test_over_limit_cosmetics_pay_consumption_tax_on_value_plus_duty():
    cream = line("6000.00", consumption="0.15", duty="0.05")
    # duty 300.00; base 6,300 / 0.85 = 7,411.7647; consumption 1,111.76; VAT 963.53
    assert order_tax(lines=[cream], freight=Decimal("0")) == Decimal("2375.29")


def test_freight_counts_toward_the_limit():
    within = line("4990.00", duty="0.10")
    assert order_tax(lines=[within], freight=Decimal("0")) == Decimal("454.09")
    # 4,990 + 20 freight = 5,010 > 5,000: duty 501.00, VAT 13% of 5,511.00 = 716.43
    assert order_tax(lines=[within], freight=Decimal("20.00")) == Decimal("1217.43")


def test_two_units_are_not_a_single_indivisible_item():
    pair = line("6000.00", qty=2, duty="0.10")
    assert order_tax(lines=[pair], freight=Decimal("0")) == Decimal("546.00")

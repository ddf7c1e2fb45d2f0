"""The tax engine against DOMAIN.md's worked examples, to the fen."""

from decimal import Decimal

import pytest

from marketplace.services.tax import (
    TaxLineInput,
    TaxRates,
    compute_tax,
    spread,
    to_fen,
)

D = Decimal
ORDINARY = TaxRates(vat=D("0.13"))
COSMETICS = TaxRates(vat=D("0.13"), consumption=D("0.15"), duty=D("0.05"))
FOOD = TaxRates(vat=D("0.09"))


def test_infant_formula_at_3000_pays_273():
    tax = compute_tax(lines=[TaxLineInput(unit_price=D("3000.00"), quantity=1, rates=ORDINARY)])
    assert tax.vat == D("273.00")
    assert tax.consumption_tax == D("0.00")
    assert tax.duty == D("0.00")
    assert tax.total == D("273.00")
    assert not tax.over_limit


def test_high_end_serum_at_1000_pays_consumption_then_vat_to_the_fen():
    tax = compute_tax(lines=[TaxLineInput(unit_price=D("1000.00"), quantity=1, rates=COSMETICS)])
    assert tax.consumption_tax == D("123.53")
    assert tax.vat == D("107.06")
    assert tax.total == D("230.59")


def test_composite_rates_match_the_published_percentages():
    assert ORDINARY.composite_within_limits() == D("0.091")
    assert COSMETICS.composite_within_limits().quantize(D("0.0001")) == D("0.2306")


def test_rounding_is_half_up_per_line_and_per_tax_then_summed():
    # 0.50 x 9.1% = 0.0455 -> 0.05 (half up); two such lines sum to 0.10, not round(0.091)=0.09.
    lines = [TaxLineInput(unit_price=D("0.50"), quantity=1, rates=ORDINARY, key=k) for k in "ab"]
    tax = compute_tax(lines=lines)
    assert [line.vat for line in tax.lines] == [D("0.05"), D("0.05")]
    assert tax.vat == D("0.10")


def test_freight_is_spread_by_value_with_the_remainder_on_the_last_line():
    assert spread(D("10.00"), [D("1"), D("1"), D("1")]) == [D("3.33"), D("3.33"), D("3.34")]
    assert sum(spread(D("7.77"), [D("3"), D("5"), D("11")])) == D("7.77")


def test_freight_and_insurance_are_part_of_the_dutiable_value():
    lines = [
        TaxLineInput(unit_price=D("100.00"), quantity=1, rates=ORDINARY, key="a"),
        TaxLineInput(unit_price=D("200.00"), quantity=1, rates=ORDINARY, key="b"),
    ]
    tax = compute_tax(lines=lines, freight=D("10.00"), insurance=D("1.00"))
    a, b = tax.lines
    assert (a.freight, b.freight) == (D("3.33"), D("6.67"))
    assert (a.insurance, b.insurance) == (D("0.33"), D("0.67"))
    assert a.dutiable_value == D("103.66")
    assert a.vat == to_fen(D("103.66") * D("0.091"))  # 9.43
    assert tax.dutiable_value == D("311.00")
    assert tax.total == a.vat + b.vat


def test_quantity_multiplies_the_line_value():
    tax = compute_tax(lines=[TaxLineInput(unit_price=D("99.90"), quantity=3, rates=FOOD)])
    assert tax.goods_value == D("299.70")
    assert tax.vat == to_fen(D("299.70") * D("0.09") * D("0.7"))


def test_single_item_above_5000_pays_full_duty_consumption_and_vat():
    tax = compute_tax(lines=[TaxLineInput(unit_price=D("6000.00"), quantity=1, rates=COSMETICS)])
    assert tax.over_limit
    assert tax.duty == D("300.00")  # 5%
    # consumption = (6000 + 300) / 0.85 x 0.15 = 1111.764... -> 1111.76
    assert tax.consumption_tax == D("1111.76")
    # VAT = (6000 + 300 + 1111.76) x 0.13 = 963.5288 -> 963.53
    assert tax.vat == D("963.53")
    assert tax.total == D("2375.29")


def test_exactly_5000_is_still_taxed_at_the_retail_rate():
    tax = compute_tax(lines=[TaxLineInput(unit_price=D("5000.00"), quantity=1, rates=ORDINARY)])
    assert not tax.over_limit
    assert tax.total == D("455.00")


@pytest.mark.parametrize("price", [D("0.01"), D("12.35"), D("4999.99")])
def test_tax_never_has_more_than_two_decimals(price):
    tax = compute_tax(lines=[TaxLineInput(unit_price=price, quantity=7, rates=COSMETICS)])
    for amount in (tax.vat, tax.consumption_tax, tax.total):
        assert amount == amount.quantize(D("0.01"))

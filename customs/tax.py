"""Cross-border retail import tax, recomputed from the declared data (DOMAIN.md, "Tax").

Per line and per tax, rounded half up to the fen, then summed; freight and insurance spread
over lines in proportion to value with the remainder on the last line.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
RETAIL_FACTOR = Decimal("0.7")  # within the limits: 70% of VAT and consumption tax
SINGLE_ORDER_LIMIT = Decimal("5000")


def fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def spread(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Share `total` by weight, to the fen; the remainder goes on the last line."""
    if not weights:
        return []
    whole = sum(weights)
    if whole == 0:
        return [Decimal("0.00")] * (len(weights) - 1) + [fen(total)]
    shares = [fen(total * weight / whole) for weight in weights[:-1]]
    return [*shares, fen(total) - sum(shares, Decimal("0"))]


def line_taxes(
    *, value: Decimal, vat_rate: Decimal, consumption_rate: Decimal, factor: Decimal
) -> tuple[Decimal, Decimal]:
    """(consumption tax, VAT) on a dutiable value V: V/(1-c) x rate x factor, each to the fen."""
    base = value / (Decimal("1") - consumption_rate)
    return fen(base * consumption_rate * factor), fen(base * vat_rate * factor)


def order_tax(
    *, lines: Sequence[dict], freight: Decimal, insured_fee: Decimal = Decimal("0")
) -> Decimal:
    """Tax of an order; lines are {"total_price", "vat_rate", "consumption_tax_rate",
    "duty_rate", "qty"}.

    Within the limits: no duty, 70% of VAT and consumption tax. A single indivisible item above
    the per-transaction limit pays the full statutory amounts: duty on its value, then
    consumption tax and VAT on value + duty (DOMAIN.md, "Tax"), each rounded to the fen.
    """
    values = [Decimal(str(line["total_price"])) for line in lines]
    extras = spread(Decimal(str(freight)) + Decimal(str(insured_fee)), values)
    single_item = len(lines) == 1 and int(lines[0]["qty"]) == 1
    # The limit is on the transaction's dutiable value: goods + freight + insurance.
    over_limit = single_item and sum(values) + sum(extras) > SINGLE_ORDER_LIMIT
    total = Decimal("0.00")
    for line, value, extra in zip(lines, values, extras, strict=True):
        dutiable = value + extra
        duty_rate = Decimal(str(line.get("duty_rate", "0"))) if over_limit else Decimal("0")
        duty = fen(dutiable * duty_rate)
        consumption, vat = line_taxes(
            value=dutiable + duty,
            vat_rate=Decimal(str(line.get("vat_rate", "0.13"))),
            consumption_rate=Decimal(str(line.get("consumption_tax_rate", "0"))),
            factor=Decimal("1") if over_limit else RETAIL_FACTOR,
        )
        total += duty + consumption + vat
    return total

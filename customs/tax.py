"""Cross-border retail import tax (DOMAIN.md "Tax on cross-border retail imports"): the one engine.

The shopper's tax (marketplace checkout, product page, API, kiosk: through
marketplace.services.tax) and the tax customs recomputes from the declared data (`order_tax`,
the `tax_recompute` pre-check of the CEB311 taxTotal) are both this `compute_tax`, so what the
shopper pays and what is declared cannot differ by a fen.

Pure functions over Decimal: no database. Our rules: per line and per tax, round half up to the
fen, then sum; freight and insurance are each spread over lines in proportion to value, the
remainder on the last line. The single indivisible item above the per-transaction limit pays
full duty, then consumption tax on value + duty grossed up, then VAT on value + duty + the
consumption tax levied (each rounded to the fen before the next is computed on it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
# Within the limits: no duty, 70% of VAT and consumption tax.
RETAIL_TAX_FACTOR = Decimal("0.7")
TRANSACTION_LIMIT = Decimal("5000.00")


def to_fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TaxRates:
    vat: Decimal
    consumption: Decimal = Decimal("0")
    duty: Decimal = Decimal("0")  # only for the single over-limit item

    def composite_within_limits(self) -> Decimal:
        """(c + v) / (1 - c) x 0.7, e.g. 0.091 for ordinary goods (v 13%, c 0)."""
        return (self.consumption + self.vat) / (1 - self.consumption) * RETAIL_TAX_FACTOR


@dataclass(frozen=True)
class TaxLineInput:
    unit_price: Decimal
    quantity: int
    rates: TaxRates
    key: str = ""  # the caller's reference for the line (listing id, gnum)
    # A declared line's totalPrice, when the value is read from a filing rather than priced.
    line_value: Decimal | None = None

    @property
    def value(self) -> Decimal:
        if self.line_value is not None:
            return to_fen(self.line_value)
        return to_fen(self.unit_price * self.quantity)


@dataclass(frozen=True)
class TaxLine:
    key: str
    value: Decimal
    freight: Decimal
    insurance: Decimal
    dutiable_value: Decimal
    duty: Decimal
    consumption_tax: Decimal
    vat: Decimal

    @property
    def total(self) -> Decimal:
        return self.duty + self.consumption_tax + self.vat


@dataclass(frozen=True)
class TaxBreakdown:
    lines: tuple[TaxLine, ...]
    goods_value: Decimal
    freight: Decimal
    insurance: Decimal
    # True for the single indivisible item above the transaction limit: full duty, VAT and
    # consumption tax instead of the 70% retail rates.
    over_limit: bool

    @property
    def dutiable_value(self) -> Decimal:
        """Goods + freight + insurance: what counts toward the per-order and annual limits."""
        return self.goods_value + self.freight + self.insurance

    @property
    def duty(self) -> Decimal:
        return sum((line.duty for line in self.lines), ZERO)

    @property
    def consumption_tax(self) -> Decimal:
        return sum((line.consumption_tax for line in self.lines), ZERO)

    @property
    def vat(self) -> Decimal:
        return sum((line.vat for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.duty + self.consumption_tax + self.vat


def spread(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `amount` over lines in proportion to `weights`, each rounded to the fen; the
    rounding remainder goes on the last line, so the parts always add up to the amount."""
    amount = to_fen(amount)
    if not weights:
        return []
    total = sum(weights, ZERO)
    if total == 0:
        return [ZERO] * (len(weights) - 1) + [amount]
    parts = [to_fen(amount * weight / total) for weight in weights[:-1]]
    parts.append(amount - sum(parts, ZERO))
    return parts


def line_tax(*, dutiable_value: Decimal, rates: TaxRates, over_limit: bool) -> dict:
    """Duty, consumption tax and VAT of one line, each rounded half up to the fen."""
    c, v = rates.consumption, rates.vat
    if not over_limit:
        base = dutiable_value / (1 - c)
        return {
            "duty": ZERO,
            "consumption_tax": to_fen(base * c * RETAIL_TAX_FACTOR),
            "vat": to_fen(base * v * RETAIL_TAX_FACTOR),
        }
    # General import: duty on the value, consumption tax on (value + duty) grossed up,
    # VAT on value + duty + consumption tax; each on the amount actually levied (rounded).
    duty = to_fen(dutiable_value * rates.duty)
    consumption = to_fen((dutiable_value + duty) / (1 - c) * c)
    vat = to_fen((dutiable_value + duty + consumption) * v)
    return {"duty": duty, "consumption_tax": consumption, "vat": vat}


def units_in(lines: Sequence[TaxLineInput]) -> int:
    return sum(line.quantity for line in lines)


def is_single_over_limit_item(*, dutiable_value: Decimal, units: int) -> bool:
    return units == 1 and dutiable_value > TRANSACTION_LIMIT


def compute_tax(
    *,
    lines: Sequence[TaxLineInput],
    freight: Decimal = ZERO,
    insurance: Decimal = ZERO,
) -> TaxBreakdown:
    """Tax of an order. Does not refuse anything: the caller checks the limits first with
    `marketplace.services.quota.transaction_limit_check` (over_limit is reported, not judged)."""
    values = [line.value for line in lines]
    freights = spread(freight, values)
    insurances = spread(insurance, values)
    goods_value = sum(values, ZERO)
    dutiable = goods_value + to_fen(freight) + to_fen(insurance)
    over_limit = is_single_over_limit_item(dutiable_value=dutiable, units=units_in(lines))
    out = []
    for line, value, f, i in zip(lines, values, freights, insurances, strict=True):
        taxes = line_tax(dutiable_value=value + f + i, rates=line.rates, over_limit=over_limit)
        out.append(
            TaxLine(
                key=line.key,
                value=value,
                freight=f,
                insurance=i,
                dutiable_value=value + f + i,
                **taxes,
            )
        )
    return TaxBreakdown(
        lines=tuple(out),
        goods_value=goods_value,
        freight=to_fen(freight),
        insurance=to_fen(insurance),
        over_limit=over_limit,
    )


def _d(value, default: str = "0") -> Decimal:
    return Decimal(str(value if value is not None else default))


def declared_lines(lines: Sequence[Mapping]) -> list[TaxLineInput]:
    """Lines as filed ({"total_price", "qty", "vat_rate", "consumption_tax_rate", "duty_rate"})
    as the engine's input: the declared totalPrice is the line's value."""
    out = []
    for gnum, line in enumerate(lines, start=1):
        qty = int(line["qty"])
        value = _d(line["total_price"])
        out.append(
            TaxLineInput(
                unit_price=value / qty if qty else value,
                quantity=qty,
                rates=TaxRates(
                    vat=_d(line.get("vat_rate"), "0.13"),
                    consumption=_d(line.get("consumption_tax_rate")),
                    duty=_d(line.get("duty_rate")),
                ),
                key=str(line.get("gnum", gnum)),
                line_value=value,
            )
        )
    return out


def order_tax(
    *, lines: Sequence[Mapping], freight: Decimal, insured_fee: Decimal = ZERO
) -> Decimal:
    """Tax of a declared order (customs' recomputation of taxTotal): `compute_tax` over the
    declared lines, freight and insured fee."""
    return compute_tax(
        lines=declared_lines(lines), freight=_d(freight), insurance=_d(insured_fee)
    ).total


# The old names customs used, kept for callers that read them.
fen = to_fen
SINGLE_ORDER_LIMIT = TRANSACTION_LIMIT

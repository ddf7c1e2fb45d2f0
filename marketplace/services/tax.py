"""Cross-border retail import tax for the marketplace: the engine is customs.tax (the lower
app, which also recomputes the declared taxTotal), so the shopper's tax and the declared tax
are one function. This module keeps the marketplace's names and its own limit constant.
"""

from decimal import Decimal

from customs.tax import (
    FEN,
    RETAIL_TAX_FACTOR,
    TRANSACTION_LIMIT,
    ZERO,
    TaxBreakdown,
    TaxLine,
    TaxLineInput,
    TaxRates,
    compute_tax,
    is_single_over_limit_item,
    line_tax,
    spread,
    to_fen,
    units_in,
)

ANNUAL_LIMIT = Decimal("26000.00")

__all__ = [
    "ANNUAL_LIMIT",
    "FEN",
    "RETAIL_TAX_FACTOR",
    "TRANSACTION_LIMIT",
    "ZERO",
    "TaxBreakdown",
    "TaxLine",
    "TaxLineInput",
    "TaxRates",
    "compute_tax",
    "is_single_over_limit_item",
    "line_tax",
    "spread",
    "to_fen",
    "units_in",
]

"""Per-order and annual limits per resident ID (DOMAIN.md), checked before an order is taxed.

`quota_check` is pure: the caller passes what the shopper has already used this year, so it
runs the same at checkout, at payment and in tests. `shopper_quota_check` reads that amount
from the orders (marketplace.selectors.quota) and is what checkout and payment call.

What counts (our rule on top of DOMAIN.md's "paid orders count until cancelled, rejected or
returned"): at checkout, paid orders of the Asia/Shanghai year plus the holds of the shopper's
placed, unpaid orders; at payment, paid orders plus the order being paid, checked again. Both
run with `shopper_quota_lock` held, so two checkouts or payments of one shopper never read the
same room at once.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from marketplace.errors import AnnualQuotaExceeded, OrderOverTransactionLimit
from marketplace.services.tax import (
    ANNUAL_LIMIT,
    TRANSACTION_LIMIT,
    ZERO,
    TaxBreakdown,
    TaxLineInput,
    compute_tax,
    is_single_over_limit_item,
    to_fen,
    units_in,
)


def shopper_quota_lock(**lookup) -> None:
    """Serialise quota use per shopper until the end of the caller's transaction: a row lock
    on the shopper (SELECT ... FOR UPDATE on PostgreSQL; SQLite already serialises writers, its
    transactions being IMMEDIATE). Taken first, before any order or stock row, by checkout and
    by payment alike, so the lock order is always shopper -> order -> stock. `lookup` finds the
    shopper (`pk=...`, or `orders__payments__token=...`: one statement, only the shopper row
    locked)."""
    from marketplace.models import Shopper

    shoppers = Shopper.objects.select_for_update(of=("self",)).filter(**lookup)
    list(shoppers.values_list("pk", flat=True))


@dataclass(frozen=True)
class QuotaDecision:
    order_value: Decimal
    used: Decimal
    over_limit_item: bool  # a single indivisible item above 5,000: full taxes, still counted

    @property
    def remaining_after(self) -> Decimal:
        return ANNUAL_LIMIT - self.used - self.order_value


def annual_remaining(used: Decimal) -> Decimal:
    return max(ANNUAL_LIMIT - to_fen(used), ZERO)


def transaction_limit_check(*, order_value: Decimal, units: int) -> bool:
    """Refuse several items above the per-order limit; return True for the single over-limit
    item (taxed in full). Exactly 5,000.00 is within the limit."""
    order_value = to_fen(order_value)
    if order_value <= TRANSACTION_LIMIT:
        return False
    if is_single_over_limit_item(dutiable_value=order_value, units=units):
        return True
    raise OrderOverTransactionLimit(value=order_value, limit=TRANSACTION_LIMIT)


def quota_check(*, order_value: Decimal, units: int, used: Decimal) -> QuotaDecision:
    """Both limits for one order of `order_value` (goods + freight + insurance) when `used`
    is already spent this calendar year. Raises a DomainError saying how much room is left."""
    order_value, used = to_fen(order_value), to_fen(used)
    over_limit_item = transaction_limit_check(order_value=order_value, units=units)
    if used + order_value > ANNUAL_LIMIT:
        raise AnnualQuotaExceeded(
            value=order_value, remaining=annual_remaining(used), limit=ANNUAL_LIMIT
        )
    return QuotaDecision(order_value=order_value, used=used, over_limit_item=over_limit_item)


def shopper_quota_check(
    *,
    shopper,
    order_value: Decimal,
    units: int,
    on: dt.datetime | None = None,
    used_by: Callable[..., Decimal] | None = None,
) -> QuotaDecision:
    """The checks for a real shopper: reads their use this year (Asia/Shanghai) from orders.
    `used_by(shopper=..., on=...)` replaces the reader (tests, a central quota service)."""
    from marketplace.selectors.quota import annual_quota_used

    reader = used_by or annual_quota_used
    return quota_check(order_value=order_value, units=units, used=reader(shopper=shopper, on=on))


@dataclass(frozen=True)
class OrderAssessment:
    tax: TaxBreakdown
    quota: QuotaDecision


def order_assess(
    *,
    shopper,
    lines: Sequence[TaxLineInput],
    freight: Decimal = ZERO,
    insurance: Decimal = ZERO,
    on: dt.datetime | None = None,
    used_by: Callable[..., Decimal] | None = None,
) -> OrderAssessment:
    """What checkout (and payment, again) calls: quotas first, then the tax of the order.

    Raises OrderOverTransactionLimit or AnnualQuotaExceeded (DomainErrors saying how much room
    is left). Prices in `lines` must come from the listings, never from the request.
    """
    tax = compute_tax(lines=lines, freight=freight, insurance=insurance)
    decision = shopper_quota_check(
        shopper=shopper,
        order_value=tax.dutiable_value,
        units=units_in(lines),
        on=on,
        used_by=used_by,
    )
    return OrderAssessment(tax=tax, quota=decision)

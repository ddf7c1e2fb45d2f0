"""Settlement figures per merchant: what shoppers paid for its orders, the import tax the
platform withheld (and pays to customs) and what went back to shoppers as refunds.

sold       = the totals of every order that was paid (goods + freight + insurance + tax)
tax        = the tax of the paid orders that still stand (a cancelled, rejected or returned
             order's tax went back to the shopper with the refund)
refunded   = refunds actually paid out
net        = sold - tax - refunded: what the merchant is owed
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from marketplace.models import Merchant, Order, Refund

MONEY = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(Decimal("0.00"), output_field=MONEY)


@dataclass(frozen=True)
class SettlementFigures:
    orders_paid: int
    sold: Decimal
    tax_withheld: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.sold - self.tax_withheld - self.refunded


def _per_merchant(queryset, expression, output_field):
    return Coalesce(
        Subquery(
            queryset.filter(merchant=OuterRef("pk"))
            .order_by()
            .values("merchant")
            .annotate(total=Sum(expression, output_field=output_field))
            .values("total"),
            output_field=output_field,
        ),
        Value(0, output_field=output_field) if output_field is not MONEY else ZERO,
    )


def merchants_with_settlement(merchants: QuerySet[Merchant]) -> QuerySet[Merchant]:
    """Annotates orders_paid, sold, tax_withheld and refunded (one query for the whole list)."""
    paid = Order.objects.filter(paid_at__isnull=False)
    standing = paid.filter(state__in=Order.QUOTA_STATES)
    total = ExpressionWrapper(
        F("goods_value") + F("freight") + F("insurance") + F("tax_total"), output_field=MONEY
    )
    refunds = Refund.objects.filter(state=Refund.State.DONE).annotate(
        merchant=F("payment__order__merchant")
    )
    return merchants.annotate(
        orders_paid=_per_merchant(paid, Value(1), IntegerField()),
        sold=_per_merchant(paid, total, MONEY),
        tax_withheld=_per_merchant(standing, F("tax_total"), MONEY),
        refunded=_per_merchant(refunds, F("amount"), MONEY),
    )


def merchant_settlement(merchant: Merchant) -> SettlementFigures:
    row = merchants_with_settlement(Merchant.objects.filter(pk=merchant.pk)).get()
    return SettlementFigures(row.orders_paid, row.sold, row.tax_withheld, row.refunded)

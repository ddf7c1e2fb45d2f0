"""The order, minimal for now: enough for the annual quota to read what a shopper has used.

The order's full life (lines, timeline, reservations, declarations) lands with checkout.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketplace.models.shoppers import Shopper


class Order(models.Model):
    class State(models.TextChoices):
        PLACED = "placed", _("placed")
        PAID = "paid", _("paid")
        HELD = "held", _("held for inspection")
        RELEASED = "released", _("released")
        DELIVERED = "delivered", _("delivered")
        CANCELLED = "cancelled", _("cancelled")
        EXPIRED = "expired", _("expired")
        REJECTED = "rejected", _("rejected")
        RETURNED = "returned", _("returned")

    # Paid orders use the shopper's annual allowance until cancelled, rejected or returned.
    QUOTA_STATES = (State.PAID, State.HELD, State.RELEASED, State.DELIVERED)

    number = models.CharField(_("order number"), max_length=32, unique=True)
    shopper = models.ForeignKey(
        Shopper, verbose_name=_("shopper"), on_delete=models.PROTECT, related_name="orders"
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PLACED)
    goods_value = models.DecimalField(_("goods value"), max_digits=12, decimal_places=2)
    freight = models.DecimalField(
        _("freight"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    insurance = models.DecimalField(
        _("insurance"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    tax_total = models.DecimalField(
        _("tax total"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    created_at = models.DateTimeField(_("placed at"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.CheckConstraint(
                condition=Q(goods_value__gte=0, freight__gte=0, insurance__gte=0, tax_total__gte=0),
                name="order_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def customs_value(self) -> Decimal:
        """Dutiable value (goods + freight + insurance): what counts toward the quotas."""
        return self.goods_value + self.freight + self.insurance

"""The signed-in shopper's cart (anonymous carts live in the session)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from marketplace.models.catalog import Listing
from marketplace.models.shoppers import Shopper


class CartItem(models.Model):
    """Only a listing and a quantity: prices always come from the listing at checkout."""

    shopper = models.ForeignKey(
        Shopper, verbose_name=_("shopper"), on_delete=models.CASCADE, related_name="cart_items"
    )
    listing = models.ForeignKey(
        Listing, verbose_name=_("listing"), on_delete=models.CASCADE, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("cart item")
        verbose_name_plural = _("cart items")
        constraints = [
            models.UniqueConstraint(fields=["shopper", "listing"], name="cartitem_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cartitem_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id} x{self.quantity}"

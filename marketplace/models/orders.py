"""Orders: one per merchant, its lines (a snapshot of what was sold), and every transition.

State changes only through marketplace.services.orders; OrderEvent records each one (from, to,
when, who, why), which gives the five-step timeline.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from marketplace.models.catalog import Listing, _localized
from marketplace.models.merchants import Merchant
from marketplace.models.shoppers import Shopper


class Order(models.Model):
    class State(models.TextChoices):
        PLACED = "placed", _("Placed")
        PAID = "paid", _("Paid")
        HELD = "held", _("Held for inspection")
        RELEASED = "released", pgettext_lazy("state", "Released")
        DISPATCHED = "dispatched", _("Dispatched by courier")
        DELIVERED = "delivered", pgettext_lazy("state", "Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        REJECTED = "rejected", _("Rejected")
        RETURNED = "returned", _("Returned")

    class Delivery(models.TextChoices):
        PICKUP = "pickup", _("Counter pickup")
        DELIVERY = "delivery", _("Domestic delivery")

    # Paid orders use the shopper's annual allowance until cancelled, rejected or returned.
    QUOTA_STATES = (State.PAID, State.HELD, State.RELEASED, State.DISPATCHED, State.DELIVERED)

    number = models.CharField(_("order number"), max_length=32, unique=True)
    shopper = models.ForeignKey(
        Shopper, verbose_name=_("shopper"), on_delete=models.PROTECT, related_name="orders"
    )
    merchant = models.ForeignKey(
        Merchant,
        verbose_name=_("merchant"),
        on_delete=models.PROTECT,
        related_name="orders",
        null=True,
        blank=True,
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PLACED)
    channel = models.CharField(_("channel"), max_length=16, default="web")
    delivery_mode = models.CharField(
        _("delivery"), max_length=16, choices=Delivery.choices, default=Delivery.PICKUP
    )
    counter_code = models.CharField(_("pickup counter"), max_length=32, blank=True)
    destination_code = models.CharField(
        _("goods go to (bonded location)"), max_length=32, blank=True
    )
    storage_code = models.CharField(_("reserved at (bonded storage)"), max_length=32, blank=True)
    consignee = models.CharField(_("consignee"), max_length=50, blank=True)
    consignee_phone = models.CharField(_("consignee phone"), max_length=20, blank=True)
    consignee_address = models.CharField(_("consignee address"), max_length=300, blank=True)
    consignee_district = models.CharField(_("district"), max_length=100, blank=True)
    logistics_no = models.CharField(_("waybill number"), max_length=40, blank=True)
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
    filed_at = models.DateTimeField(_("filed at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, db_index=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    state_reason = models.CharField(_("reason"), max_length=500, blank=True)
    clearance_state = models.CharField(_("clearance"), max_length=16, blank=True)
    flagged = models.BooleanField(_("flagged for review"), default=False)
    flag_reason = models.CharField(_("why flagged"), max_length=300, blank=True)
    return_no = models.CharField(_("return number"), max_length=40, blank=True)
    return_requested_at = models.DateTimeField(_("return requested at"), null=True, blank=True)
    language = models.CharField(_("shopper's language"), max_length=10, default="zh-hans")

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
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return self.number

    @property
    def customs_value(self) -> Decimal:
        """Dutiable value (goods + freight + insurance): what counts toward the quotas."""
        return self.goods_value + self.freight + self.insurance

    @property
    def total(self) -> Decimal:
        """What the shopper pays (acturalPaid): goods + freight + tax (no discounts)."""
        return self.goods_value + self.freight + self.insurance + self.tax_total

    @property
    def placed_at(self):
        return self.created_at


class OrderLine(models.Model):
    """What was sold, copied from the listing and item at placing time."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines"
    )
    gnum = models.PositiveIntegerField(_("line number"))
    listing = models.ForeignKey(
        Listing, verbose_name=_("listing"), on_delete=models.PROTECT, related_name="+"
    )
    item_no = models.CharField(_("customs item number"), max_length=40)
    barcode = models.CharField(_("barcode"), max_length=40, blank=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    hs_code = models.CharField(_("HS code"), max_length=10)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    total_price = models.DecimalField(_("line total"), max_digits=12, decimal_places=2)
    tax = models.DecimalField(_("tax"), max_digits=12, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["order", "gnum"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.UniqueConstraint(fields=["order", "gnum"], name="orderline_unique_gnum"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.gnum} {self.item_no} x{self.quantity}"

    @property
    def name(self) -> str:
        return _localized(self.name_zh, self.name_en)


class OrderEvent(models.Model):
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="events"
    )
    from_state = models.CharField(_("from"), max_length=16, blank=True)
    to_state = models.CharField(_("to"), max_length=16)
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.CharField(_("actor"), max_length=150)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.from_state or '-'} -> {self.to_state}"


class PlacementKey(models.Model):
    """An `Idempotency-Key` a client sent with a placement, and the orders it placed: the same
    key again (a retry after a dropped connection or a web node dying mid-request) answers
    with those orders instead of placing new ones. Written in the placement's transaction, so
    a key exists exactly when its orders do."""

    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the request body")
    order_numbers = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shopper", "key"], name="placement_key_once"),
        ]
        verbose_name = _("placement key")
        verbose_name_plural = _("placement keys")

    def __str__(self) -> str:
        return f"{self.key} -> {', '.join(self.order_numbers)}"

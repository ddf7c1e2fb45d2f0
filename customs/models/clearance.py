"""Per order: where clearance stands, why, and whether the goods left bond."""

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OrderClearance(models.Model):
    class State(models.TextChoices):
        FILING = "filing", _("filing order, payment and waybill")
        DECLARED = "declared", _("inventory list declared")
        HELD = "held", _("held for review or inspection")
        RELEASED = "released", _("released")
        RETURNED = "returned", _("returned into bond")
        REJECTED = "rejected", _("rejected")
        CANCELLED = "cancelled", _("cancelled")

    order_no = models.CharField(_("order number"), max_length=64, unique=True)
    ebc_code = models.CharField(_("merchant code"), max_length=18, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default="filing", db_index=True)
    reason = models.CharField(_("why"), max_length=500, blank=True)
    delivery_mode = models.CharField(max_length=16)
    destination_code = models.CharField(max_length=32)
    ciq_required = models.BooleanField(default=False)
    invt_no = models.CharField(_("inventory list number"), max_length=64, blank=True)
    goods_released_at = models.DateTimeField(_("goods moved out of bond"), null=True, blank=True)
    release_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    state_changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Facts kept for supervision statistics (one row per order: the dashboard's fact table).
    goods_value = models.DecimalField(
        _("goods value"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    paid_at = models.DateTimeField(_("payment filed"), null=True, blank=True)
    declared_at = models.DateTimeField(_("inventory list declared"), null=True, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("order clearance")
        indexes = [
            # Dashboard ranges: by time, and by merchant then time (merchant staff scope).
            models.Index(fields=["created_at"], name="clearance_created"),
            models.Index(fields=["declared_at"], name="clearance_declared"),
            models.Index(fields=["ebc_code", "created_at"], name="clearance_ebc_created"),
        ]

    def __str__(self) -> str:
        return f"{self.order_no} {self.state}"


class ClearanceEvent(models.Model):
    """Append-only history: every change of an order's clearance with its reason."""

    clearance = models.ForeignKey(OrderClearance, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=16)
    to_state = models.CharField(max_length=16)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.clearance_id}: {self.from_state} -> {self.to_state}"

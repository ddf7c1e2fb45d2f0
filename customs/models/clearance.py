"""Per order: where clearance stands, why, and whether the goods left bond."""

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OrderClearance(models.Model):
    class Delivery(models.TextChoices):
        PICKUP = "pickup", _("counter pickup")
        DELIVERY = "delivery", _("domestic delivery")

    class State(models.TextChoices):
        FILING = "filing", _("Filing order, payment and waybill")
        DECLARED = "declared", _("Inventory list declared")
        HELD = "held", _("Held for review or inspection")
        RELEASED = "released", pgettext_lazy("state", "Released")
        RETURNED = "returned", _("Returned into bond")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    order_no = models.CharField(_("order number"), max_length=64, unique=True)
    ebc_code = models.CharField(_("merchant code"), max_length=18, db_index=True)
    state = models.CharField(
        max_length=16,
        choices=State.choices,
        default="filing",
        db_index=True,
        verbose_name=_("state"),
    )
    reason = models.CharField(_("why"), max_length=500, blank=True)
    delivery_mode = models.CharField(_("delivery"), max_length=16, choices=Delivery.choices)
    destination_code = models.CharField(
        max_length=32, verbose_name=_("goods go to (bonded location)")
    )
    ciq_required = models.BooleanField(
        default=False, verbose_name=_("inspection and quarantine required")
    )
    invt_no = models.CharField(_("inventory list number"), max_length=64, blank=True)
    goods_released_at = models.DateTimeField(_("goods moved out of bond"), null=True, blank=True)
    release_error = models.CharField(max_length=500, blank=True, verbose_name=_("release error"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    state_changed_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("state changed at")
    )
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
        verbose_name_plural = _("order clearances")
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

    clearance = models.ForeignKey(
        OrderClearance,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("order clearance"),
    )
    from_state = models.CharField(max_length=16, verbose_name=_("from state"))
    to_state = models.CharField(max_length=16, verbose_name=_("to state"))
    reason = models.CharField(max_length=500, blank=True, verbose_name=_("reason"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("clearance event")
        verbose_name_plural = _("clearance events")
        ordering = ["created_at", "id"]
        # Supervision: holds (and other transitions) of a date range.
        indexes = [models.Index(fields=["to_state", "created_at"], name="clearanceevent_to_at")]

    def __str__(self) -> str:
        return f"{self.clearance_id}: {self.from_state} -> {self.to_state}"


class ClearanceDay(models.Model):
    """Per Asia/Shanghai day, merchant and destination: the clearance counts the supervision
    dashboard sums over long ranges (a year is 365 x merchants x counters rows instead of a
    million clearances). Rebuilt from OrderClearance by `clearance_days_refresh`; days after
    `RollupMark.through` are always read live."""

    day = models.DateField()
    ebc_code = models.CharField(max_length=18)
    destination_code = models.CharField(max_length=32)
    # orders filed that day, their goods value, and how many of them were rejected / ever held
    filed = models.PositiveIntegerField(default=0)
    filed_value = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    rejected = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0)
    # inventory lists declared that day and their goods value
    declared = models.PositiveIntegerField(default=0)
    declared_value = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    # released that day: count, total payment->release seconds, histogram (LATENCY_BOUNDS + 1)
    released = models.PositiveIntegerField(default=0)
    latency_seconds = models.FloatField(default=0)
    lat_0 = models.PositiveIntegerField(default=0)  # <= 5 s
    lat_1 = models.PositiveIntegerField(default=0)  # <= 10 s
    lat_2 = models.PositiveIntegerField(default=0)  # <= 30 s
    lat_3 = models.PositiveIntegerField(default=0)  # <= 60 s
    lat_4 = models.PositiveIntegerField(default=0)  # <= 120 s
    lat_5 = models.PositiveIntegerField(default=0)  # <= 300 s
    lat_6 = models.PositiveIntegerField(default=0)  # <= 900 s
    lat_7 = models.PositiveIntegerField(default=0)  # <= 3600 s
    lat_8 = models.PositiveIntegerField(default=0)  # longer

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "ebc_code", "destination_code"], name="clearanceday_once"
            )
        ]
        indexes = [models.Index(fields=["ebc_code", "day"], name="clearanceday_ebc")]

    def __str__(self) -> str:
        return f"{self.day} {self.ebc_code} {self.destination_code}"


class RollupMark(models.Model):
    """How far a rollup is complete: every day up to `through` is rolled up."""

    name = models.CharField(max_length=32, unique=True)
    through = models.DateField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} through {self.through}"

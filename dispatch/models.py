"""Warehouse work for delivery orders: waves of pick lists, parcels, the courier's handover.

One Shipment per released delivery order (one parcel, CEB511 packNo 1). Its lines are picked in
walk order by scanning barcodes; a wrong item or a short pick stops the shipment until someone
fixes it; packing records the measured gross weight; dispatch issues the goods once.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Wave(models.Model):
    """A batch of shipments picked together, their lines walked location by location."""

    class State(models.TextChoices):
        OPEN = "open", _("picking")
        DONE = "done", _("done")

    number = models.CharField(_("wave"), max_length=32, unique=True)
    warehouse_code = models.CharField(_("warehouse"), max_length=32)
    day = models.DateField(_("day (Asia/Shanghai)"), db_index=True)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.CharField(_("created by"), max_length=150)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-day", "-id"]
        verbose_name = _("wave")
        verbose_name_plural = _("waves")

    def __str__(self) -> str:
        return self.number


class Shipment(models.Model):
    """One delivery order's way through the warehouse, and its parcel and waybill."""

    class State(models.TextChoices):
        PICKING = "picking", _("picking")
        STOPPED = "stopped", _("stopped: mismatch to fix")
        PICKED = "picked", _("picked, to pack")
        PACKED = "packed", _("packed, waybill complete")
        DISPATCHED = "dispatched", _("dispatched")
        DELIVERED = "delivered", _("delivered")

    order_no = models.CharField(_("order number"), max_length=32, unique=True)
    wave = models.ForeignKey(
        Wave,
        verbose_name=_("wave"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
    )
    warehouse_code = models.CharField(_("warehouse"), max_length=32)
    ebc_code = models.CharField(_("merchant code"), max_length=18, blank=True, db_index=True)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.PICKING, db_index=True
    )
    consignee = models.CharField(_("consignee"), max_length=50, blank=True)
    consignee_district = models.CharField(_("district"), max_length=100, blank=True)
    logistics_code = models.CharField(_("logistics company"), max_length=18)
    logistics_no = models.CharField(_("waybill number"), max_length=40)
    declared_weight_kg = models.DecimalField(
        _("declared gross weight (kg)"), max_digits=9, decimal_places=3
    )
    measured_weight_kg = models.DecimalField(
        _("measured gross weight (kg)"), max_digits=9, decimal_places=3, null=True, blank=True
    )
    released_at = models.DateTimeField(_("released by customs at"))
    due_at = models.DateTimeField(_("dispatch due by"), db_index=True)
    picked_at = models.DateTimeField(_("picked at"), null=True, blank=True)
    packed_at = models.DateTimeField(_("packed at"), null=True, blank=True)
    packed_by = models.CharField(_("packed by"), max_length=150, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    dispatched_by = models.CharField(_("dispatched by"), max_length=150, blank=True)
    courier_collected_at = models.DateTimeField(_("collected by courier at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        indexes = [
            models.Index(fields=["dispatched_at"], name="shipment_dispatched_at"),
            models.Index(fields=["released_at"], name="shipment_released_at"),
        ]

    def __str__(self) -> str:
        return f"{self.order_no} {self.logistics_no}"

    @property
    def left(self) -> bool:
        return self.state in (self.State.DISPATCHED, self.State.DELIVERED)

    def release_to_dispatch(self):
        """Release -> dispatch (or -> now while still in the warehouse)."""
        return (self.dispatched_at or timezone.now()) - self.released_at

    @property
    def timeliness(self) -> str:
        """on_time | at_risk | late (against DISPATCH_TARGET_HOURS)."""
        now = timezone.now()
        if self.dispatched_at is not None:
            return "on_time" if self.dispatched_at <= self.due_at else "late"
        if now > self.due_at:
            return "late"
        warn = timedelta(hours=settings.DISPATCH_AT_RISK_HOURS)
        return "at_risk" if now >= self.due_at - warn else "on_time"


class PickLine(models.Model):
    """One order line at one storage location: scan its barcode `quantity` times."""

    class State(models.TextChoices):
        OPEN = "open", _("to pick")
        PICKED = "picked", _("picked")
        SHORT = "short", _("short")

    shipment = models.ForeignKey(
        Shipment, verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="lines"
    )
    gnum = models.PositiveIntegerField(_("order line"))
    item_no = models.CharField(_("customs item number"), max_length=40)
    barcode = models.CharField(_("barcode"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    location_code = models.CharField(_("location"), max_length=32)
    walk_order = models.PositiveIntegerField(_("walk order"), default=0)
    quantity = models.PositiveIntegerField(_("quantity"))
    picked = models.PositiveIntegerField(_("picked"), default=0)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)

    class Meta:
        ordering = ["walk_order", "location_code", "item_no", "shipment_id", "gnum"]
        verbose_name = _("pick line")
        verbose_name_plural = _("pick lines")
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "gnum", "location_code"], name="pickline_once"
            ),
            models.CheckConstraint(
                condition=Q(picked__lte=models.F("quantity")), name="pickline_picked_lte_qty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shipment.order_no}#{self.gnum} {self.item_no} x{self.quantity}"

    @property
    def name(self) -> str:
        from django.utils.translation import get_language

        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    @property
    def remaining(self) -> int:
        return self.quantity - self.picked


class Mismatch(models.Model):
    """A stop: wrong item scanned, short pick, or a parcel outside the weight tolerance.
    While one is open its shipment takes no scans, no packing and no dispatch."""

    class Kind(models.TextChoices):
        WRONG_ITEM = "wrong_item", _("wrong item scanned")
        SHORT_PICK = "short_pick", _("short pick")
        WEIGHT = "weight", _("weight outside tolerance")

    class Resolution(models.TextChoices):
        PUT_BACK = "put_back", _("wrong item put back")
        FOUND = "found", _("found the missing units")
        REWEIGH = "reweigh", _("repacked, weigh again")
        HOLD = "hold", _("taken out of the wave for a stock check")

    shipment = models.ForeignKey(
        Shipment, verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="mismatches"
    )
    line = models.ForeignKey(
        PickLine,
        verbose_name=_("pick line"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="mismatches",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    expected = models.CharField(_("expected"), max_length=60, blank=True)
    found = models.CharField(_("found"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    created_by = models.CharField(_("reported by"), max_length=150)
    resolved_at = models.DateTimeField(_("fixed at"), null=True, blank=True)
    resolved_by = models.CharField(_("fixed by"), max_length=150, blank=True)
    resolution = models.CharField(
        _("how fixed"), max_length=12, choices=Resolution.choices, blank=True
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("mismatch")
        verbose_name_plural = _("mismatches")
        constraints = [
            # At most one open stop per shipment: fix it before anything else happens.
            models.UniqueConstraint(
                fields=["shipment"], condition=Q(resolved_at__isnull=True), name="mismatch_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shipment.order_no} {self.kind}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class CourierNonce(models.Model):
    """Nonces of accepted courier callbacks: a replay is refused."""

    nonce = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("courier callback nonce")
        verbose_name_plural = _("courier callback nonces")

    def __str__(self) -> str:
        return self.nonce


class SandboxParcel(models.Model):
    """The sandbox courier's own records (a third party in spirit): what it collected and
    whether it has told us about the delivery."""

    logistics_no = models.CharField(max_length=40, unique=True, verbose_name=_("waybill number"))
    order_no = models.CharField(max_length=32, verbose_name=_("order number"))
    consignee = models.CharField(max_length=50, blank=True, verbose_name=_("consignee"))
    weight_kg = models.DecimalField(max_digits=9, decimal_places=3, verbose_name=_("weight (kg)"))
    callback_url = models.CharField(max_length=300, verbose_name=_("callback URL"))
    collected_at = models.DateTimeField(default=timezone.now, verbose_name=_("collected at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    notified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("notified at"))
    notify_attempts = models.PositiveIntegerField(
        default=0, verbose_name=_("notification attempts")
    )

    class Meta:
        verbose_name = _("sandbox courier parcel")
        verbose_name_plural = _("sandbox courier parcels")

    def __str__(self) -> str:
        return self.logistics_no


class WaybillAllocation(models.Model):
    """A waybill the courier allocated for one order, with the label data it answered: the
    number filed with customs (CEB511 logisticsNo) and printed on the label."""

    order_no = models.CharField(_("order number"), max_length=32, db_index=True)
    provider = models.CharField(_("courier adapter"), max_length=200)
    logistics_code = models.CharField(_("logistics company"), max_length=18)
    logistics_name = models.CharField(_("logistics company name"), max_length=100)
    logistics_no = models.CharField(_("waybill number"), max_length=40, unique=True)
    sort_code = models.CharField(_("sorting code"), max_length=60, blank=True)
    destination_code = models.CharField(_("destination code"), max_length=60, blank=True)
    route = models.CharField(_("route"), max_length=120, blank=True)
    barcode = models.CharField(_("barcode value"), max_length=80, blank=True)
    answer = models.JSONField(_("courier's answer"), default=dict, blank=True)
    allocated_at = models.DateTimeField(_("allocated at"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_error = models.CharField(_("cancellation refused"), max_length=300, blank=True)

    class Meta:
        ordering = ["-allocated_at", "-id"]
        verbose_name = _("waybill allocation")
        verbose_name_plural = _("waybill allocations")
        constraints = [
            models.UniqueConstraint(
                fields=["order_no"], condition=Q(cancelled_at__isnull=True),
                name="waybill_allocation_one_live_per_order",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.logistics_no


class CourierEvent(models.Model):
    """A status the courier reported (callback or status query); one row per courier event
    id, so a repeated push is applied once."""

    logistics_no = models.CharField(_("waybill number"), max_length=40, db_index=True)
    event_id = models.CharField(_("courier's event id"), max_length=64)
    status = models.CharField(_("status"), max_length=20)
    at = models.DateTimeField(_("at"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("courier event")
        verbose_name_plural = _("courier events")
        constraints = [
            models.UniqueConstraint(fields=["logistics_no", "event_id"], name="courier_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.logistics_no} {self.status}"


class SandboxWaybillRange(models.Model):
    """The sandbox courier's own number range: the next number to hand out."""

    name = models.CharField(max_length=20, unique=True)
    prefix = models.CharField(max_length=8)
    next_value = models.BigIntegerField()

    class Meta:
        verbose_name = _("sandbox courier number range")
        verbose_name_plural = _("sandbox courier number ranges")

    def __str__(self) -> str:
        return f"{self.prefix}{self.next_value:012d}"


class SandboxWaybill(models.Model):
    """The sandbox courier's record of a waybill it allocated."""

    logistics_no = models.CharField(max_length=40, unique=True, verbose_name=_("waybill number"))
    order_no = models.CharField(max_length=32, verbose_name=_("order number"))
    consignee = models.CharField(max_length=50, blank=True, verbose_name=_("consignee"))
    address = models.CharField(max_length=300, blank=True, verbose_name=_("address"))
    district = models.CharField(max_length=100, blank=True, verbose_name=_("district"))
    allocated_at = models.DateTimeField(default=timezone.now, verbose_name=_("allocated at"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))

    class Meta:
        verbose_name = _("sandbox courier waybill")
        verbose_name_plural = _("sandbox courier waybills")
        constraints = [
            models.UniqueConstraint(
                fields=["order_no"], condition=Q(cancelled_at__isnull=True),
                name="sandbox_waybill_one_live_per_order",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.logistics_no

"""The bonded zone's stock ledger and the customs account book that mirrors it.

Quantities are whole packs (retail units). Stock changes only through bonded.services: every
change is an append-only Move plus an update of the Balance rows it touches, in one transaction.
"""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from config.refcache import RefQuerySet

hs_code_validator = RegexValidator(
    r"^\d{10}$", _("An HS code has exactly 10 digits, for example 0402210000.")
)
country_validator = RegexValidator(
    r"^[A-Z]{2}$", _("Use the two-letter ISO 3166 country code, for example AU or DE.")
)


class GoodsItem(models.Model):
    """One article as customs knows it: the item number filed in every inventory list."""

    item_no = models.CharField(_("customs item number"), max_length=32, unique=True)
    barcode = models.CharField(_("barcode"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    hs_code = models.CharField(_("HS code"), max_length=10, validators=[hs_code_validator])
    unit = models.CharField(_("customs unit code"), max_length=3, default="011")
    origin_country = models.CharField(
        _("origin country"), max_length=2, validators=[country_validator]
    )
    owner_code = models.CharField(
        _("owner merchant code"), max_length=32, db_index=True, help_text=_("ebcCode")
    )
    net_weight_kg = models.DecimalField(_("net weight (kg)"), max_digits=9, decimal_places=3)
    gross_weight_kg = models.DecimalField(_("gross weight (kg)"), max_digits=9, decimal_places=3)
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["item_no"]
        verbose_name = _("goods item")
        verbose_name_plural = _("goods items")
        constraints = [
            models.CheckConstraint(
                condition=Q(gross_weight_kg__gte=F("net_weight_kg")),
                name="goodsitem_gross_at_least_net",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_no} {self.name_en}"

    def clean(self) -> None:
        if (
            self.net_weight_kg is not None
            and self.gross_weight_kg is not None
            and self.gross_weight_kg < self.net_weight_kg
        ):
            raise ValidationError(
                {"gross_weight_kg": _("Gross weight cannot be less than net weight.")}
            )


class Warehouse(models.Model):
    """A bonded warehouse: its customs area and the account book (emsNo) that mirrors it."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    area_code = models.CharField(_("customs area code"), max_length=10)
    ems_no = models.CharField(_("account book number (emsNo)"), max_length=32, unique=True)
    address = models.CharField(_("address"), max_length=300, blank=True)

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Location(models.Model):
    class Kind(models.TextChoices):
        STORAGE = "storage", _("bonded storage")
        COUNTER = "counter", _("pickup counter")
        INSPECTION = "inspection", _("inspection hold")
        DOCK = "dock", _("outbound dock")
        SUPPLIER = "supplier", _("overseas supplier (virtual)")
        SHOPPER = "shopper", _("shopper (virtual)")
        LOSS = "loss", _("loss (virtual)")

    VIRTUAL_KINDS = {Kind.SUPPLIER, Kind.SHOPPER, Kind.LOSS}
    # Stock here is still under bond and must equal the account book; counters and the dock
    # hold goods customs has already released (written off the book).
    BONDED_KINDS = {Kind.STORAGE, Kind.INSPECTION}

    code = models.CharField(_("code"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    warehouse = models.ForeignKey(
        Warehouse,
        verbose_name=_("warehouse"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="locations",
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    address_zh = models.CharField(_("address (Chinese)"), max_length=300, blank=True)
    address_en = models.CharField(_("address (English)"), max_length=300, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=100, blank=True)
    inside_supervision_zone = models.BooleanField(
        _("inside the special customs supervision zone"),
        default=False,
        help_text=_("Bonded goods may only be handed over at counters inside the zone."),
    )
    pick_sequence = models.PositiveIntegerField(
        _("walk order"), default=0, help_text=_("Order in which pickers visit storage zones.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["supplier", "shopper", "loss"]) | Q(warehouse__isnull=False),
                name="location_physical_has_warehouse",
            ),
        ]

    def __str__(self) -> str:
        name = self.name_en if get_language() == "en" else (self.name_zh or self.name_en)
        return f"{self.code} {name}"

    @property
    def is_virtual(self) -> bool:
        return self.kind in self.VIRTUAL_KINDS

    @property
    def is_bonded(self) -> bool:
        """Still under bond: counted against the customs account book."""
        return self.kind in self.BONDED_KINDS


class Balance(models.Model):
    """What is physically at a location, and how much of it is promised to orders."""

    item = models.ForeignKey(
        GoodsItem, on_delete=models.PROTECT, related_name="balances", verbose_name=_("goods item")
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="balances", verbose_name=_("location")
    )
    on_hand = models.BigIntegerField(_("on hand"), default=0)
    reserved = models.BigIntegerField(_("reserved"), default=0)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("balance")
        verbose_name_plural = _("balances")
        constraints = [
            models.UniqueConstraint(fields=["item", "location"], name="balance_item_location"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="balance_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="balance_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="balance_reserved_lte_on_hand"
            ),
        ]
        indexes = [models.Index(fields=["location", "item"], name="balance_location_item")]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.location_id}: {self.on_hand} ({self.reserved} reserved)"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Move(models.Model):
    """One line of the append-only double-entry ledger: quantity went from one place to another."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("receipt into bond")
        TRANSFER = "transfer", _("transfer")
        RELEASE = "release", _("customs release to counter or dock")
        ISSUE = "issue", _("issue to shopper")
        ADJUSTMENT = "adjustment", _("stocktake adjustment")
        RETURN = "return", _("return into bond")

    item = models.ForeignKey(
        GoodsItem, on_delete=models.PROTECT, related_name="moves", verbose_name=_("goods item")
    )
    quantity = models.PositiveBigIntegerField(_("quantity"))
    from_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="moves_out", verbose_name=_("from")
    )
    to_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="moves_in", verbose_name=_("to")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    reference = models.CharField(_("reference"), max_length=64, db_index=True)
    actor = models.CharField(_("who"), max_length=150)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("stock move")
        verbose_name_plural = _("stock moves")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="move_quantity_gt_0"),
            models.CheckConstraint(
                condition=~Q(from_location=F("to_location")), name="move_between_two_locations"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} x {self.item_id} {self.reference}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(_("Stock moves cannot be changed; post a correcting move."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("Stock moves cannot be deleted; post a correcting move."))


class Reservation(models.Model):
    """Stock promised to one order line until it is paid (expiry), issued, or released."""

    class State(models.TextChoices):
        ACTIVE = "active", _("active")
        CONSUMED = "consumed", _("consumed (issued)")
        RELEASED = "released", _("released")
        EXPIRED = "expired", _("expired")

    reference = models.CharField(_("order reference"), max_length=64)
    line_no = models.PositiveIntegerField(_("line"))
    item = models.ForeignKey(
        GoodsItem,
        on_delete=models.PROTECT,
        related_name="reservations",
        verbose_name=_("goods item"),
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="reservations", verbose_name=_("location")
    )
    quantity = models.PositiveBigIntegerField(_("quantity"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default="active")
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    close_reason = models.CharField(max_length=200, blank=True, verbose_name=_("why closed"))

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        constraints = [
            models.UniqueConstraint(fields=["reference", "line_no"], name="reservation_line"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_gt_0"),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(state="active"),
                name="reservation_active_expiry",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference}/{self.line_no}: {self.quantity} x {self.item_id} ({self.state})"


class LedgerOperation(models.Model):
    """Makes services idempotent by reference: same content is a no-op, other content an error."""

    kind = models.CharField(max_length=32)
    reference = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ledger operation")
        verbose_name_plural = _("ledger operations")
        constraints = [
            models.UniqueConstraint(fields=["kind", "reference"], name="ledgeroperation_kind_ref")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"


class AccountBookRecord(models.Model):
    """One item's line in a warehouse's customs account book (itemRecordNo)."""

    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        related_name="book_records",
        verbose_name=_("warehouse"),
    )
    item = models.ForeignKey(
        GoodsItem,
        on_delete=models.PROTECT,
        related_name="book_records",
        verbose_name=_("goods item"),
    )
    record_no = models.PositiveIntegerField(_("item record number"))
    declared_in = models.BigIntegerField(_("declared in"), default=0)
    written_off = models.BigIntegerField(_("written off"), default=0)
    balance = models.GeneratedField(
        expression=F("declared_in") - F("written_off"),
        output_field=models.BigIntegerField(),
        db_persist=True,
        verbose_name=_("book balance"),
    )

    class Meta:
        ordering = ["warehouse", "record_no"]
        verbose_name = _("account book record")
        verbose_name_plural = _("account book records")
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "item"], name="bookrecord_item"),
            models.UniqueConstraint(fields=["warehouse", "record_no"], name="bookrecord_no"),
            models.CheckConstraint(
                condition=Q(written_off__gte=0) & Q(written_off__lte=F("declared_in")),
                name="bookrecord_written_off_within_declared",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.warehouse_id}#{self.record_no} {self.item_id}"


class AccountBookEntry(models.Model):
    """Append-only history of the book: entries in, write-offs out, each with its document."""

    class Kind(models.TextChoices):
        ENTRY = "entry", _("entry declaration")
        WRITE_OFF = "write_off", _("write-off (released inventory list)")
        RETURN = "return", _("return into bond")

    record = models.ForeignKey(
        AccountBookRecord,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("account book record"),
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    quantity = models.PositiveBigIntegerField(_("quantity"))
    document_no = models.CharField(_("customs document number"), max_length=64)
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("account book entry")
        verbose_name_plural = _("account book entries")
        constraints = [
            models.UniqueConstraint(
                fields=["record", "kind", "document_no"], name="bookentry_once_per_document"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="bookentry_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} {self.document_no}"


class Stocktake(models.Model):
    """A count of one location: staff enter counts, review differences, then post adjustments."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        POSTED = "posted", _("posted")

    reference = models.CharField(_("reference"), max_length=64, unique=True)
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="stocktakes", verbose_name=_("location")
    )
    state = models.CharField(
        max_length=8, choices=State.choices, default="open", verbose_name=_("state")
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_by = models.CharField(max_length=150, verbose_name=_("created by"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    posted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("posted at"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("stocktake")
        verbose_name_plural = _("stocktakes")

    def __str__(self) -> str:
        return self.reference


class StocktakeLine(models.Model):
    stocktake = models.ForeignKey(
        Stocktake, on_delete=models.CASCADE, related_name="lines", verbose_name=_("stocktake")
    )
    item = models.ForeignKey(GoodsItem, on_delete=models.PROTECT, verbose_name=_("goods item"))
    counted = models.PositiveBigIntegerField(_("counted"))
    expected = models.BigIntegerField(_("on hand when posted"), null=True, blank=True)

    class Meta:
        verbose_name = _("stocktake line")
        verbose_name_plural = _("stocktake lines")
        constraints = [
            models.UniqueConstraint(fields=["stocktake", "item"], name="stocktakeline_item")
        ]

    def __str__(self) -> str:
        return f"{self.stocktake_id}: {self.item_id} counted {self.counted}"

    @property
    def difference(self) -> int | None:
        return None if self.expected is None else self.counted - self.expected

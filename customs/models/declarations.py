"""Declarations: customs' own snapshot of what it filed, and what the authorities answered."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.crypto import EncryptedTextField


def new_guid() -> str:
    return str(uuid.uuid4()).upper()


class Declaration(models.Model):
    class Kind(models.TextChoices):
        ORDER = "order", _("CEB311 order")
        PAYMENT = "payment", _("CEB411 payment")
        WAYBILL = "waybill", _("CEB511 waybill")
        WAYBILL_STATUS = "waybill_status", _("CEB513 waybill status")
        INVENTORY = "inventory", _("CEB621 inventory list")
        CANCEL = "cancel", _("CEB623 cancellation")
        RETURN = "return", _("CEB625 return")

    class Authority(models.TextChoices):
        CUSTOMS = "customs", _("customs")
        CIQ = "ciq", _("inspection and quarantine")

    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        BLOCKED = "blocked", _("blocked by the platform pre-check")
        SENT = "sent", _("declaring (2)")
        ACCEPTED = "accepted", _("accepted (120)")
        REVIEW = "review", _("manual review (300)")
        CONCLUDED = "concluded", _("review concluded (399)")
        INSPECTION = "inspection", _("inspection (500)")
        DETAINED = "detained", _("detained or suspended (5xx/600)")
        RELEASED = "released", _("released (800)")
        CLOSED = "closed", _("clearance closed (899)")
        REJECTED = "rejected", _("rejected (100)")
        CANCELLED = "cancelled", _("cancelled")

    MESSAGE_TYPES = {
        "order": "CEB311",
        "payment": "CEB411",
        "waybill": "CEB511",
        "waybill_status": "CEB513",
        "inventory": "CEB621",
        "cancel": "CEB623",
        "return": "CEB625",
    }

    guid = models.CharField(
        max_length=36, unique=True, default=new_guid, editable=False, verbose_name=_("message GUID")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    authority = models.CharField(
        _("authority"), max_length=8, choices=Authority.choices, default="customs"
    )
    order_no = models.CharField(_("order number"), max_length=64, db_index=True)
    business_no = models.CharField(
        _("business number"),
        max_length=64,
        blank=True,
        help_text=_("payTransactionId, logisticsNo (with its status), copNo or return number"),
    )
    ebc_code = models.CharField(_("merchant code"), max_length=18, db_index=True)
    payload = models.JSONField(_("filed data (without resident ID)"))
    fingerprint = models.CharField(max_length=64, verbose_name=_("content fingerprint"))
    id_number = EncryptedTextField(_("resident ID (encrypted)"), blank=True, null=True)
    id_hash = models.CharField(max_length=64, blank=True, db_index=True, verbose_name=_("ID hash"))
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default="pending", db_index=True
    )
    return_status = models.IntegerField(_("last return status"), null=True, blank=True)
    return_info = models.CharField(_("last return info"), max_length=500, blank=True)
    flagged_for_inspection = models.BooleanField(
        default=False, verbose_name=_("flagged for inspection")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("leased until"))
    lease_token = models.CharField(max_length=32, blank=True, verbose_name=_("lease token"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    message = models.ForeignKey(
        "customs.GatewayMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="declarations",
        verbose_name=_("message"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    state_changed_at = models.DateTimeField(
        default=timezone.now, verbose_name=_("state changed at")
    )
    # Overdue: accepted but no new receipt for CUSTOMS_RECEIPT_OVERDUE_SECONDS (services.overdue).
    status_queries = models.PositiveIntegerField(_("status queries"), default=0)
    resends = models.PositiveIntegerField(_("re-sent"), default=0)
    overdue_checks = models.PositiveIntegerField(
        _("checks without progress"),
        default=0,
        help_text=_("status queries or re-sends since the last move, without an answer"),
    )
    overdue_checked_at = models.DateTimeField(_("last overdue check"), null=True, blank=True)
    overdue_note = models.CharField(_("last overdue check said"), max_length=500, blank=True)
    needs_staff_at = models.DateTimeField(_("needs staff since"), null=True, blank=True)
    needs_staff_reason = models.CharField(_("why it needs staff"), max_length=500, blank=True)
    # The W3C traceparent of the filing (config/tracing.py): its receipts join that trace.
    # Empty while tracing is off.
    trace_context = models.CharField(_("trace context"), max_length=128, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("declaration")
        verbose_name_plural = _("declarations")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "authority", "order_no", "business_no"], name="declaration_once"
            ),
        ]
        indexes = [models.Index(fields=["state", "lease_until"], name="declaration_due")]

    def __str__(self) -> str:
        return f"{self.message_type} {self.order_no} ({self.state})"

    @property
    def needs_staff(self) -> bool:
        """Flagged by the overdue check and not moved since (a late receipt clears it)."""
        return self.needs_staff_at is not None and self.state_changed_at <= self.needs_staff_at

    @property
    def message_type(self) -> str:
        return self.MESSAGE_TYPES[self.kind]


class InspectionQueue(Declaration):
    """Lists held for review or inspection, for the admin's decision queue."""

    class Meta:
        proxy = True
        verbose_name = _("inspection queue entry")
        verbose_name_plural = _("inspection queue")


class DeclaredLine(models.Model):
    """One filed order line, kept as rows so caps and ex-post rules can aggregate them."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="lines")
    gnum = models.PositiveIntegerField()
    item_no = models.CharField(max_length=32, db_index=True)
    hs_code = models.CharField(max_length=10, db_index=True)
    qty = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=2)
    buyer_hash = models.CharField(max_length=64, db_index=True)
    declared_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["declaration", "gnum"], name="declaredline_gnum"),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_id}#{self.gnum} {self.item_no} x{self.qty}"


class GatewayMessage(models.Model):
    """One HTTP message to a gateway; it may carry a batch of declarations of one type."""

    guid = models.CharField(
        max_length=36, unique=True, default=new_guid, editable=False, verbose_name=_("message GUID")
    )
    message_type = models.CharField(max_length=8, verbose_name=_("message type"))
    authority = models.CharField(max_length=8, verbose_name=_("authority"))
    xml = models.TextField(_("XML (resident IDs masked)"))
    record_count = models.PositiveIntegerField(default=0, verbose_name=_("records"))
    http_status = models.IntegerField(null=True, blank=True, verbose_name=_("HTTP status"))
    response = models.TextField(blank=True, verbose_name=_("response"))
    error = models.CharField(max_length=500, blank=True, verbose_name=_("error"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("gateway message")
        verbose_name_plural = _("gateway messages")

    def __str__(self) -> str:
        return f"{self.message_type} {self.guid} x{self.record_count}"


class Receipt(models.Model):
    """A receipt as it arrived (pushed, polled or decided by an officer); applied at most once."""

    class Source(models.TextChoices):
        PUSH = "push", _("pushed to our endpoint")
        POLL = "poll", _("polled")
        RESPONSE = "response", _("gateway response")
        OFFICER = "officer", _("inspection decision")
        QUERY = "query", _("status query")
        EPORT = "eport", _("E-Port inbox file")

    guid = models.CharField(max_length=64, unique=True, verbose_name=_("receipt GUID"))
    source = models.CharField(max_length=16, choices=Source.choices, verbose_name=_("source"))
    authority = models.CharField(max_length=8, verbose_name=_("authority"))
    declaration = models.ForeignKey(
        Declaration,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="receipts",
        verbose_name=_("declaration"),
    )
    decl_guid = models.CharField(max_length=36, db_index=True, verbose_name=_("declaration GUID"))
    order_no = models.CharField(max_length=64, db_index=True, verbose_name=_("order number"))
    return_status = models.IntegerField(_("return status"))
    return_info = models.CharField(max_length=500, blank=True, verbose_name=_("return info"))
    return_time = models.DateTimeField(_("return time"))
    invt_no = models.CharField(max_length=64, blank=True, verbose_name=_("inventory list number"))
    received_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))
    applied_at = models.DateTimeField(null=True, blank=True, verbose_name=_("applied at"))
    outcome = models.CharField(
        max_length=32,
        blank=True,
        help_text=_("applied, stale (changed nothing), unknown"),
        verbose_name=_("outcome"),
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        indexes = [models.Index(fields=["applied_at"], name="receipt_unapplied")]

    def __str__(self) -> str:
        return f"{self.order_no} {self.return_status} ({self.authority})"


class GatewayCursor(models.Model):
    """Where polling stopped, per authority: receipts after it are fetched next time."""

    authority = models.CharField(max_length=8, unique=True)
    position = models.BigIntegerField(default=0)
    polled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.authority}@{self.position}"

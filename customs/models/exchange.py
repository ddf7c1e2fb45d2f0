"""The E-Port exchange: inbox files as they were taken, and customs' real-time data queries."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExchangeFile(models.Model):
    """One file read from the E-Port client's inbox: applied, a duplicate of one applied
    before (same content), or quarantined with the reason (the file is kept in quarantine)."""

    class State(models.TextChoices):
        APPLIED = "applied", _("applied")
        DUPLICATE = "duplicate", _("duplicate")
        QUARANTINED = "quarantined", _("quarantined")

    name = models.CharField(max_length=255, verbose_name=_("file name"))
    sha256 = models.CharField(max_length=64, db_index=True, verbose_name=_("SHA-256"))
    state = models.CharField(max_length=16, choices=State.choices, verbose_name=_("state"))
    reason = models.CharField(max_length=500, blank=True, verbose_name=_("reason"))
    message_type = models.CharField(max_length=8, blank=True, verbose_name=_("message type"))
    message_guid = models.CharField(max_length=64, blank=True, verbose_name=_("message GUID"))
    receipts = models.PositiveIntegerField(default=0, verbose_name=_("receipts"))
    stored_at = models.CharField(max_length=500, blank=True, verbose_name=_("kept at"))
    size = models.PositiveIntegerField(default=0, verbose_name=_("size (bytes)"))
    received_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("E-Port inbox file")
        verbose_name_plural = _("E-Port inbox files")

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"


class RealtimeQuery(models.Model):
    """Customs asked for an order's original payment data (the real-time data request);
    what we uploaded, signed, and what customs answered."""

    class State(models.TextChoices):
        RECEIVED = "received", _("received")
        UPLOADED = "uploaded", _("uploaded")
        REFUSED = "refused", _("refused by customs")
        UNKNOWN_ORDER = "unknown_order", _("unknown order")
        FAILED = "failed", _("upload failed")

    order_no = models.CharField(max_length=64, db_index=True, verbose_name=_("order number"))
    session_id = models.CharField(max_length=128, unique=True, verbose_name=_("session ID"))
    service_time = models.CharField(max_length=20, verbose_name=_("service time"))
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.RECEIVED, verbose_name=_("state")
    )
    uploaded = models.TextField(blank=True, verbose_name=_("uploaded data (signed)"))
    answer = models.TextField(blank=True, verbose_name=_("customs' answer"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    received_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))
    uploaded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("uploaded at"))

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("real-time data query")
        verbose_name_plural = _("real-time data queries")

    def __str__(self) -> str:
        return f"{self.order_no} {self.session_id} ({self.state})"

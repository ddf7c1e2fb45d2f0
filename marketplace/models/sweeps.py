"""Durable progress of the marketplace's sweeps: nothing a cache flush can lose."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SweepMark(models.Model):
    """How far a sweep has applied changes: it never moves past a change it failed to apply
    (until that one is handed to staff), so the next run starts before it."""

    name = models.CharField(_("sweep"), max_length=64, unique=True)
    mark = models.DateTimeField(_("applied up to"))
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("sweep mark")

    def __str__(self) -> str:
        return f"{self.name} @ {self.mark:%Y-%m-%d %H:%M:%S}"


class ClearanceSyncFailure(models.Model):
    """An order whose clearance the sweep could not apply: retried by every sweep until it
    succeeds (the row is then deleted) or, after ORDERS_CLEARANCE_SYNC_MAX_ATTEMPTS, given up
    and the order flagged for staff with the error."""

    order_no = models.CharField(_("order number"), max_length=32, unique=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.CharField(_("last error"), max_length=500, blank=True)
    first_failed_at = models.DateTimeField(_("first failed at"), default=timezone.now)
    last_failed_at = models.DateTimeField(_("last failed at"), default=timezone.now)
    gave_up_at = models.DateTimeField(_("handed to staff at"), null=True, blank=True)

    class Meta:
        ordering = ["-last_failed_at"]
        verbose_name = _("clearance sync failure")
        verbose_name_plural = _("clearance sync failures")

    def __str__(self) -> str:
        return f"{self.order_no} ({self.attempts})"

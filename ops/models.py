"""What the operator's figures need that no app keeps: how often each sweep ran and what it
recovered (a sweep returns a count, or a dict of counts, of what it found still to do)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SweepTally(models.Model):
    task = models.CharField(_("sweep"), max_length=100, unique=True)
    runs = models.PositiveBigIntegerField(_("runs"), default=0)
    recovered = models.PositiveBigIntegerField(_("items recovered"), default=0)
    last_run_at = models.DateTimeField(_("last run"), default=timezone.now)
    last_recovered = models.PositiveBigIntegerField(_("recovered by the last run"), default=0)
    last_result = models.JSONField(_("last result"), default=dict, blank=True)

    class Meta:
        ordering = ["task"]
        verbose_name = _("sweep tally")
        verbose_name_plural = _("sweep tallies")

    def __str__(self) -> str:
        return f"{self.task} x{self.runs}"

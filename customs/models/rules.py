"""Risk rules are data (enabled, thresholds) and every hit is kept with its reason."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.refcache import RefQuerySet


class RiskRule(models.Model):
    class Stage(models.TextChoices):
        EX_ANTE = "ex_ante", _("ex-ante (before filing)")
        IN_PROCESS = "in_process", _("in-process (three-order comparison)")
        EX_POST = "ex_post", _("ex-post (history)")

    code = models.SlugField(_("code"), max_length=64, unique=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, verbose_name=_("stage"))
    description = models.CharField(max_length=300, verbose_name=_("description"))
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    params = models.JSONField(_("thresholds"), default=dict, blank=True)

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["stage", "code"]
        verbose_name = _("risk rule")
        verbose_name_plural = _("risk rules")

    def __str__(self) -> str:
        return self.code


class RiskHit(models.Model):
    rule_code = models.CharField(max_length=64, db_index=True, verbose_name=_("rule"))
    stage = models.CharField(max_length=16, verbose_name=_("stage"))
    subject = models.CharField(
        _("subject"), max_length=128, help_text=_("order number, merchant code or masked ID")
    )
    order_no = models.CharField(
        max_length=64, blank=True, db_index=True, verbose_name=_("order number")
    )
    ebc_code = models.CharField(
        max_length=18, blank=True, db_index=True, verbose_name=_("merchant code")
    )
    reason = models.CharField(max_length=500, verbose_name=_("reason"))
    fingerprint = models.CharField(max_length=64, unique=True, verbose_name=_("fingerprint"))
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("risk hit")
        verbose_name_plural = _("risk hits")
        indexes = [models.Index(fields=["ebc_code", "created_at"], name="riskhit_ebc_created")]

    def __str__(self) -> str:
        return f"{self.rule_code}: {self.subject}"

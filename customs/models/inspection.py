"""A customs officer's inspection decision: durable until the authority acknowledges it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InspectionDecision(models.Model):
    """Recorded by an officer, sent to the authority after commit, retried by the sweep until
    the authority acknowledges or refuses it. The declaration itself moves only when the
    authority's receipt (800 or 100) comes back, like any other receipt."""

    class Decision(models.TextChoices):
        RELEASE = "release", _("release")
        REJECT = "reject", _("reject")

    class State(models.TextChoices):
        PENDING = "pending", _("not yet acknowledged by the authority")
        ACKNOWLEDGED = "acknowledged", _("acknowledged by the authority")
        REFUSED = "refused", _("refused by the authority")

    declaration = models.ForeignKey(
        "customs.Declaration",
        on_delete=models.PROTECT,
        related_name="inspection_decisions",
        verbose_name=_("declaration"),
    )
    decision = models.CharField(_("decision"), max_length=8, choices=Decision.choices)
    reason = models.CharField(_("reason"), max_length=500)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("officer"),
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default="pending", db_index=True
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("inspection decision")
        verbose_name_plural = _("inspection decisions")
        permissions = [("record_inspection_decision", _("Can record an inspection decision"))]
        constraints = [
            # One decision on its way per declaration: a second waits for the first's answer.
            models.UniqueConstraint(
                fields=["declaration"],
                condition=Q(state="pending"),
                name="inspectiondecision_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.declaration_id} ({self.state})"

"""What customs knows before any sale: registered parties and the positive list."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.refcache import RefQuerySet


class Enterprise(models.Model):
    """A customs-registered party code (platform, merchant, payment, logistics, agent)."""

    class Role(models.TextChoices):
        PLATFORM = "platform", _("platform (ebpCode)")
        MERCHANT = "merchant", _("e-commerce enterprise (ebcCode)")
        PAYMENT = "payment", _("payment company (payCode)")
        LOGISTICS = "logistics", _("logistics company (logisticsCode)")
        AGENT = "agent", _("declaring agent (agentCode)")

    class Grade(models.TextChoices):
        A = "A", _("A: trusted")
        B = "B", _("B: ordinary")
        C = "C", _("C: watched")
        D = "D", _("D: high risk")

    code = models.CharField(_("customs code"), max_length=18)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2, blank=True)
    suspended = models.BooleanField(_("suspended"), default=False)
    suspended_reason = models.CharField(_("why suspended"), max_length=300, blank=True)
    registered_at = models.DateTimeField(default=timezone.now, verbose_name=_("registered at"))
    # Differentiated management: the grade picks the pre-audit's inspection rate.
    risk_grade = models.CharField(
        _("risk grade (computed)"), max_length=1, choices=Grade.choices, default=Grade.B
    )
    risk_grade_override = models.CharField(
        _("risk grade (set by staff)"),
        max_length=1,
        choices=Grade.choices,
        blank=True,
        help_text=_("Leave empty to use the computed grade."),
    )
    risk_grade_reason = models.CharField(_("why this grade"), max_length=300, blank=True)
    risk_graded_at = models.DateTimeField(_("graded at"), null=True, blank=True)

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["role", "code"]
        verbose_name = _("registered enterprise")
        verbose_name_plural = _("registered enterprises")
        constraints = [
            models.UniqueConstraint(fields=["role", "code"], name="enterprise_role_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name} ({self.role})"

    @property
    def effective_grade(self) -> str:
        return self.risk_grade_override or self.risk_grade


class PositiveListEdition(models.Model):
    """One published edition of the cross-border retail import positive list."""

    name = models.CharField(_("edition"), max_length=100, unique=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("positive list edition")
        verbose_name_plural = _("positive list editions")

    def __str__(self) -> str:
        return self.name


class PositiveListEntry(models.Model):
    edition = models.ForeignKey(
        PositiveListEdition,
        on_delete=models.CASCADE,
        related_name="entries",
        verbose_name=_("positive list edition"),
    )
    hs_code = models.CharField(
        _("HS code"), max_length=10, help_text=_("8- or 10-digit tariff line; 8 digits match all")
    )
    description = models.CharField(_("description"), max_length=300)
    note = models.CharField(_("note"), max_length=300, blank=True)
    quarantine = models.BooleanField(
        _("quarantine-sensitive"), default=False, help_text=_("CIQ must release it too.")
    )
    prohibited = models.BooleanField(_("prohibited"), default=False)
    high_risk = models.BooleanField(
        _("high risk"), default=False, help_text=_("Flagged for inspection.")
    )
    yearly_cap_qty = models.PositiveIntegerField(
        _("yearly cap per person (units)"), null=True, blank=True
    )

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["edition", "hs_code"]
        verbose_name = _("positive list entry")
        verbose_name_plural = _("positive list entries")
        constraints = [
            models.UniqueConstraint(fields=["edition", "hs_code"], name="positive_entry_hs"),
            models.CheckConstraint(
                condition=Q(hs_code__regex=r"^(\d{8}|\d{10})$"), name="positive_entry_hs_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hs_code} {self.description}"

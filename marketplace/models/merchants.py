"""E-commerce enterprises (ebcCode) selling through the platform, and the staff who act for them."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bonded.models import country_validator
from config.refcache import RefQuerySet

enterprise_code_validator = RegexValidator(
    r"^[0-9A-Z]{10}$",
    _("A customs enterprise code has exactly 10 characters (digits or capital letters)."),
)


class Merchant(models.Model):
    class Status(models.TextChoices):
        REGISTERED = "registered", _("registered (pending approval)")
        APPROVED = "approved", _("approved")
        SUSPENDED = "suspended", _("suspended")

    code = models.CharField(
        _("customs enterprise code"),
        max_length=10,
        unique=True,
        validators=[enterprise_code_validator],
        help_text=_("ebcCode"),
    )
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2, validators=[country_validator])
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REGISTERED
    )
    status_reason = models.CharField(_("reason for the status"), max_length=300, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    status_changed_by = models.CharField(_("status changed by"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    # Cached by config.refcache: bulk writes through this manager drop the cache too.
    objects = RefQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED


class MerchantStaff(models.Model):
    """A staff login acting for one merchant: the admin shows them only that merchant's data."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="merchant_staff",
    )
    merchant = models.ForeignKey(
        Merchant, verbose_name=_("merchant"), on_delete=models.CASCADE, related_name="staff"
    )

    class Meta:
        verbose_name = _("merchant staff member")
        verbose_name_plural = _("merchant staff")

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant.code}"

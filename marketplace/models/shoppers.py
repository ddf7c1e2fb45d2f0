"""Real-name shoppers. The resident ID is encrypted at rest; lookups use its keyed hash."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.crypto import EncryptedTextField, mask_id


class Shopper(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="shopper",
    )
    real_name = models.CharField(_("real name"), max_length=50)
    # Never filter on resident_id (a new ciphertext every save); use resident_id_hash.
    resident_id = EncryptedTextField(_("resident ID number"))
    resident_id_hash = models.CharField(
        _("resident ID lookup hash"), max_length=64, unique=True, editable=False
    )
    mobile = models.CharField(_("mobile number"), max_length=11, unique=True)
    created_at = models.DateTimeField(_("registered at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("shopper")
        verbose_name_plural = _("shoppers")

    def __str__(self) -> str:
        return f"{self.real_name} ({self.masked_id})"

    @property
    def masked_id(self) -> str:
        """The only form of the ID any page, API or log may show."""
        return mask_id(self.resident_id or "")

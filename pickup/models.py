"""Kiosks at the pickup counters, pickup codes for pickup orders, and the audit log of entries."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kiosk(models.Model):
    """A counter device. Its API key is shown once at creation; only a keyed hash is kept."""

    name = models.CharField(_("name"), max_length=100)
    counter = models.ForeignKey(
        "bonded.Location",
        verbose_name=_("pickup counter"),
        on_delete=models.PROTECT,
        related_name="kiosks",
        limit_choices_to={"kind": "counter", "inside_supervision_zone": True},
    )
    # The first characters of the key, safe to show: lets staff tell keys apart.
    key_prefix = models.CharField(_("key prefix"), max_length=12, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.CharField(_("created by"), max_length=150, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.CharField(_("revoked by"), max_length=150, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["counter__code", "name"]
        verbose_name = _("kiosk")
        verbose_name_plural = _("kiosks")

    def __str__(self) -> str:
        return f"{self.name} ({self.counter.code})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def actor(self) -> str:
        return f"kiosk:{self.pk}"


class PickupCode(models.Model):
    """The six digits a shopper shows at the counter, one per pickup order.

    The digits are derived (keyed HMAC of the order number and a random salt), so the order page
    can show them again; the row keeps the salt and a keyed hash, never the digits.
    """

    order = models.OneToOneField(
        "marketplace.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="pickup_code",
    )
    counter_code = models.CharField(_("pickup counter"), max_length=32, db_index=True)
    salt = models.CharField(_("salt"), max_length=64, editable=False)
    code_hash = models.CharField(_("code hash"), max_length=64, editable=False)
    # Keyed hash of the digits alone: the index a kiosk looks a typed code up by (uncollected
    # codes never share digits, by constraint, so it names one order); code_hash then confirms it.
    digits_hash = models.CharField(
        max_length=64, editable=False, db_index=True, default="", verbose_name=_("code hash")
    )
    created_at = models.DateTimeField(_("issued at"), default=timezone.now, editable=False)
    used_at = models.DateTimeField(_("collected at"), null=True, blank=True, editable=False)
    used_by = models.ForeignKey(
        Kiosk,
        verbose_name=_("collected at kiosk"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    # Set by the sweep once the order is past the deadline uncollected: staff return it.
    return_due_at = models.DateTimeField(_("due for return since"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("pickup code")
        verbose_name_plural = _("pickup codes")
        indexes = [models.Index(fields=["used_at", "counter_code"])]
        constraints = [
            # Six typed digits name one uncollected order, whatever races the issue: the
            # service draws again on a clash. (A code collected within the day stays
            # findable for a repeated confirm; the service's check keeps new codes off
            # those digits, but only uncollected ones are held by the database.)
            models.UniqueConstraint(
                fields=["digits_hash"],
                condition=models.Q(used_at__isnull=True),
                name="pickup_open_code_digits_unique",
            ),
        ]

    def __str__(self) -> str:
        return str(self.order)


class Attempt(models.Model):
    """Every code or identity entry at a kiosk, right or wrong. Never holds what was typed."""

    class Kind(models.TextChoices):
        CODE = "code", _("pickup code")
        IDENTITY = "identity", _("identity check")
        HANDOVER = "handover", _("handover")

    class Outcome(models.TextChoices):
        OK = "ok", _("accepted")
        WRONG = "wrong", _("wrong")
        LOCKED = "locked", _("refused: locked")
        REFUSED = "refused", _("refused")

    kiosk = models.ForeignKey(
        Kiosk, verbose_name=_("kiosk"), on_delete=models.PROTECT, related_name="attempts"
    )
    order = models.ForeignKey(
        "marketplace.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("kiosk attempt")
        verbose_name_plural = _("kiosk attempts")
        indexes = [
            models.Index(fields=["kiosk", "outcome", "at"]),
            models.Index(fields=["order", "outcome", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome} @ {self.kiosk_id}"

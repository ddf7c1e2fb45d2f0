"""Payments through the provider, the nonces of its notifications, refunds; and the sandbox
provider's own records (it behaves like a third party: only its HTTP contract is shared)."""

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.crypto import EncryptedTextField
from marketplace.models.orders import Order


class Payment(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("waiting for payment")
        SUCCEEDED = "succeeded", _("paid")
        FLAGGED = "flagged", _("paid but not accepted (mismatch)")
        REFUNDED = "refunded", _("refunded")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="payments"
    )
    token = models.CharField(_("provider token"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    pay_url = models.URLField(_("pay page"), max_length=2000)  # a signed Alipay wap URL is long
    transaction_id = models.CharField(_("provider transaction"), max_length=64, blank=True)
    amount_paid = models.DecimalField(
        _("amount paid"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    problem = models.CharField(_("problem"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # With a real provider (WeChat Pay, Alipay) the payment company files the payment record
    # with customs: its answer to our declaration request, as recorded (no resident ID).
    provider = models.CharField(_("provider"), max_length=32, blank=True, default="")
    customs_answer = models.JSONField(
        _("payment company's customs answer"), default=dict, blank=True
    )
    customs_declared_at = models.DateTimeField(
        _("declared by the payment company at"), null=True, blank=True
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.order_id} {self.token[:8]}"


class Refund(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", _("requested")
        DONE = "done", _("refunded")
        FAILED = "failed", _("failed")

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.REQUESTED
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.UniqueConstraint(fields=["payment"], name="refund_one_per_payment"),
        ]

    def __str__(self) -> str:
        return f"refund {self.payment_id} {self.amount}"


class NotificationNonce(models.Model):
    """Nonces of accepted notifications: a replay is refused."""

    nonce = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("notification nonce")
        verbose_name_plural = _("notification nonces")

    def __str__(self) -> str:
        return self.nonce


class SandboxCharge(models.Model):
    """The sandbox provider's own ledger: what a merchant (us) asked it to collect."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        PAID = "paid", _("paid")
        REFUNDED = "refunded", _("refunded")

    token = models.CharField(max_length=64, unique=True)
    merchant_order_no = models.CharField(max_length=32, db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    subject = models.CharField(max_length=200, blank=True)
    notify_url = models.URLField(max_length=300)
    return_url = models.URLField(max_length=300, blank=True)
    # The account holder (real-name verified by the provider); the payer may differ in tests.
    holder_name = models.CharField(max_length=50)
    holder_id_number = EncryptedTextField()
    payer_name = models.CharField(max_length=50, blank=True)
    payer_id_number = EncryptedTextField(blank=True, null=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    transaction_id = models.CharField(max_length=64, blank=True)
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    notified_at = models.DateTimeField(null=True, blank=True)
    notify_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("sandbox charge")
        verbose_name_plural = _("sandbox charges")

    def __str__(self) -> str:
        return self.token

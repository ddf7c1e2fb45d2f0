"""Merchant approval: only approved merchants' listings are visible and buyable."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.errors import MerchantStateError
from marketplace.models import Merchant


def _set_status(*, merchant: Merchant, status: str, actor: str, reason: str) -> Merchant:
    merchant.status = status
    merchant.status_reason = reason
    merchant.status_changed_at = timezone.now()
    merchant.status_changed_by = actor
    merchant.save(
        update_fields=["status", "status_reason", "status_changed_at", "status_changed_by"]
    )
    return merchant


@transaction.atomic
def merchant_approve(*, merchant: Merchant, actor: str, reason: str = "") -> Merchant:
    merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
    if merchant.status == Merchant.Status.APPROVED:
        raise MerchantStateError(
            _("Merchant %(code)s is already approved.") % {"code": merchant.code}
        )
    return _set_status(
        merchant=merchant, status=Merchant.Status.APPROVED, actor=actor, reason=reason
    )


@transaction.atomic
def merchant_suspend(*, merchant: Merchant, actor: str, reason: str) -> Merchant:
    """Suspension hides the merchant's listings at once; orders already placed are untouched."""
    merchant = Merchant.objects.select_for_update().get(pk=merchant.pk)
    if not reason.strip():
        raise MerchantStateError(
            _("Give a reason for suspending the merchant; it is kept on record."),
            extra={"field": "reason"},
        )
    if merchant.status == Merchant.Status.SUSPENDED:
        raise MerchantStateError(
            _("Merchant %(code)s is already suspended.") % {"code": merchant.code}
        )
    return _set_status(
        merchant=merchant, status=Merchant.Status.SUSPENDED, actor=actor, reason=reason.strip()
    )

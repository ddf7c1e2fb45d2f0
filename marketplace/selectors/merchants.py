"""Reads of merchants and of who acts for them."""

from marketplace.models import Merchant, MerchantStaff


def merchant_for_staff(user) -> Merchant | None:
    """The merchant a staff login acts for; None for platform staff (who see everything).
    Cached on the user object: the admin asks several times per request."""
    if not getattr(user, "is_authenticated", False) or user.is_superuser:
        return None
    if not hasattr(user, "_bondport_merchant"):
        link = MerchantStaff.objects.select_related("merchant").filter(user=user).first()
        user._bondport_merchant = link.merchant if link else None
    return user._bondport_merchant


def merchant_by_code(code: str) -> Merchant | None:
    return Merchant.objects.filter(code=code).first()


def approved_merchant_codes() -> set[str]:
    return set(
        Merchant.objects.filter(status=Merchant.Status.APPROVED).values_list("code", flat=True)
    )

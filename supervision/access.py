"""Who may see the dashboard, and how much of it.

Platform staff (group "Platform staff") and superusers see every merchant; merchant staff
(a marketplace.MerchantStaff link) see only their own merchant, on every panel; anyone else is
refused (anonymous users are sent to sign in).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from marketplace.selectors.merchants import merchant_for_staff

PLATFORM_STAFF_GROUP = "Platform staff"


@dataclass(frozen=True)
class Access:
    ebc_code: str | None  # None: every merchant
    merchant_name: str = ""

    @property
    def is_platform(self) -> bool:
        return self.ebc_code is None


def access_for(user) -> Access | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Access(None)
    merchant = merchant_for_staff(user)
    if merchant is not None:
        return Access(merchant.code, merchant.name)
    if user.groups.filter(name=PLATFORM_STAFF_GROUP).exists():
        return Access(None)
    return None


def supervision_view(view):
    """Sets request.supervision (an Access) or refuses."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        access = access_for(request.user)
        if access is None:
            raise PermissionDenied
        request.supervision = access
        return view(request, *args, **kwargs)

    return wrapper

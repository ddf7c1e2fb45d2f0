"""How a kiosk proves itself: `Authorization: Kiosk <key>` (hardware) or a signed-in UI session."""

from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)

from pickup.errors import KioskKeyInvalid
from pickup.models import Kiosk
from pickup.services.kiosks import kiosk_authenticate, kiosk_touch

SESSION_KEY = "pickup_kiosk_id"


class KioskPrincipal:
    """request.user for a kiosk: authenticated, never staff, never a shopper."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, kiosk: Kiosk) -> None:
        self.kiosk = kiosk
        self.pk = None

    def get_username(self) -> str:
        return self.kiosk.actor

    def __str__(self) -> str:
        return self.kiosk.actor


class KioskKeyAuthentication(BaseAuthentication):
    keyword = "Kiosk"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the header as: Authorization: Kiosk <key>."), code="kiosk_key_invalid"
            )
        try:
            kiosk = kiosk_authenticate(key=parts[1].decode(errors="replace"))
        except KioskKeyInvalid as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from None
        return KioskPrincipal(kiosk), kiosk

    def authenticate_header(self, request) -> str:
        return self.keyword


def session_kiosk(request) -> Kiosk | None:
    """The kiosk this browser signed in as, unless it has been revoked since."""
    kiosk_id = request.session.get(SESSION_KEY)
    if not kiosk_id:
        return None
    kiosk = (
        Kiosk.objects.select_related("counter").filter(pk=kiosk_id, revoked_at__isnull=True).first()
    )
    if kiosk is None:
        request.session.pop(SESSION_KEY, None)
        return None
    kiosk_touch(kiosk=kiosk)
    return kiosk


class KioskSessionAuthentication(SessionAuthentication):
    """The kiosk UI's own calls: the session made by signing in with the key, CSRF enforced."""

    def authenticate(self, request):
        kiosk = session_kiosk(request._request)
        if kiosk is None:
            return None
        self.enforce_csrf(request)
        return KioskPrincipal(kiosk), kiosk


class IsKiosk(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Kiosk)

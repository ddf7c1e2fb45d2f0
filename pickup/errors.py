"""Refusals at the pickup counter, each with a stable code and a message saying what to do."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class PickupError(DomainError):
    code = "pickup_error"


class CounterNotAllowed(PickupError):
    code = "counter_not_allowed"

    def __init__(self, *, counter_code: str) -> None:
        super().__init__(
            _(
                "Kiosks can only be set up at an active pickup counter inside the special "
                "customs supervision zone; choose such a counter."
            ),
            extra={"counter_code": counter_code},
        )


class KioskKeyInvalid(PickupError):
    code = "kiosk_key_invalid"
    http_status = 401

    def __init__(self) -> None:
        super().__init__(
            _("This kiosk key is unknown or has been revoked; ask staff for a new key.")
        )


class KioskAlreadyRevoked(PickupError):
    code = "kiosk_revoked"

    def __init__(self) -> None:
        super().__init__(_("This kiosk is already revoked."))


class Locked(PickupError):
    code = "locked"
    http_status = 429

    def __init__(self, *, until, scope: str) -> None:
        super().__init__(
            _("Too many wrong entries. Entry is locked until %(time)s; ask staff for help.")
            % {"time": timezone.localtime(until).strftime("%H:%M")},
            extra={"locked_until": until.isoformat(), "scope": scope},
        )


class CodeWrong(PickupError):
    code = "code_wrong"

    def __init__(self, *, tries_left: int) -> None:
        super().__init__(
            _("This pickup code is not valid. Check the six digits on the order page."),
            extra={"tries_left": tries_left},
        )


class CodeUsed(PickupError):
    code = "code_used"
    http_status = 409

    def __init__(self, *, order_no: str) -> None:
        super().__init__(
            _("The goods of this order have already been handed over."),
            extra={"order_no": order_no},
        )


class WrongCounter(PickupError):
    code = "wrong_counter"
    http_status = 409

    def __init__(self, *, counter_code: str, name_zh: str, name_en: str, address: str) -> None:
        super().__init__(
            _("The goods of this order wait at another counter: %(counter)s. Please go there.")
            % {"counter": counter_code},
            extra={
                "counter_code": counter_code,
                "counter_name_zh": name_zh,
                "counter_name_en": name_en,
                "address": address,
            },
        )


class NotReady(PickupError):
    code = "not_ready"
    http_status = 409

    def __init__(self, *, order_no: str, state: str) -> None:
        super().__init__(
            _(
                "This order is not ready for pickup yet: it must be paid and released by "
                "customs and CIQ first. Please wait and try again."
            ),
            extra={"order_no": order_no, "state": state},
        )


class NotAPickupOrder(PickupError):
    code = "not_pickup_order"

    def __init__(self, *, order_no: str) -> None:
        super().__init__(
            _("This order is delivered by courier, not collected at a counter."),
            extra={"order_no": order_no},
        )


class PickupCodeUnavailable(PickupError):
    code = "pickup_code_unavailable"
    http_status = 503

    def __init__(self, *, order_no: str) -> None:
        super().__init__(
            _("No free pickup code could be issued just now; reload the page in a moment."),
            extra={"order_no": order_no},
        )


class IdentityMismatch(PickupError):
    code = "identity_mismatch"

    def __init__(self, *, tries_left: int) -> None:
        super().__init__(
            _(
                "The identity does not match the shopper of this order. Enter the last 6 "
                "characters of the resident ID, or scan the ID card."
            ),
            extra={"tries_left": tries_left},
        )


class ItemsMismatch(PickupError):
    code = "items_mismatch"

    def __init__(self, *, missing: dict[str, int], extra_items: dict[str, int]) -> None:
        super().__init__(
            _(
                "The scanned items do not match the order. Scan every item once as you hand "
                "it over; take back any item that is not on the order."
            ),
            extra={"missing": missing, "extra": extra_items},
        )


class BarcodeUnknown(PickupError):
    code = "barcode_unknown"
    http_status = 404

    def __init__(self, *, barcode: str) -> None:
        super().__init__(
            _("No listing for sale has this barcode here. Scan the shelf label again."),
            extra={"barcode": barcode},
        )


class ShopperNotRegistered(PickupError):
    code = "shopper_not_registered"
    http_status = 404

    def __init__(self) -> None:
        super().__init__(
            _("No shopper is registered with this resident ID. Register the shopper first.")
        )


class OrderClosed(PickupError):
    code = "order_closed"
    http_status = 409

    def __init__(self, *, order_no: str, state: str) -> None:
        super().__init__(
            _("This order was cancelled or returned; there is nothing to collect. Ask staff."),
            extra={"order_no": order_no, "state": state},
        )

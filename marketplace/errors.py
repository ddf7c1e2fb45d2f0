"""Refusals of the marketplace, each with a stable code and a message that says how to fix it.

`extra["field"]` names the form field an error belongs to, so pages can show it in place.
"""

from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class MarketplaceError(DomainError):
    code = "marketplace_error"


class InvalidResidentId(MarketplaceError):
    code = "invalid_resident_id"

    def __init__(self, message=None, **kwargs):
        super().__init__(
            message
            or _(
                "This resident ID number is not valid. Enter all 18 characters exactly as on "
                "the ID card (the last one may be X)."
            ),
            extra={"field": "resident_id"},
            **kwargs,
        )


class InvalidMobile(MarketplaceError):
    code = "invalid_mobile"

    def __init__(self, **kwargs):
        super().__init__(
            _("Enter a mainland China mobile number: 11 digits starting with 13 to 19."),
            extra={"field": "mobile"},
            **kwargs,
        )


class InvalidRealName(MarketplaceError):
    code = "invalid_real_name"

    def __init__(self, **kwargs):
        super().__init__(
            _("Enter your real name exactly as on your resident ID card (2 to 50 characters)."),
            extra={"field": "real_name"},
            **kwargs,
        )


class ResidentIdAlreadyRegistered(MarketplaceError):
    code = "resident_id_taken"
    http_status = 409

    def __init__(self, **kwargs):
        super().__init__(
            _(
                "An account already exists for this resident ID. Sign in with it instead, "
                "or ask the counter staff for help."
            ),
            extra={"field": "resident_id"},
            **kwargs,
        )


class MobileAlreadyRegistered(MarketplaceError):
    code = "mobile_taken"
    http_status = 409

    def __init__(self, **kwargs):
        super().__init__(
            _("This mobile number is already registered. Sign in, or use another number."),
            extra={"field": "mobile"},
            **kwargs,
        )


class UsernameTaken(MarketplaceError):
    code = "username_taken"
    http_status = 409

    def __init__(self, **kwargs):
        super().__init__(
            _("This username is taken. Choose another one, or leave it empty."),
            extra={"field": "username"},
            **kwargs,
        )


class InvalidUsername(MarketplaceError):
    code = "invalid_username"

    def __init__(self, **kwargs):
        super().__init__(
            _("Use 3 to 150 letters, digits or . @ + - _ for the username, or leave it empty."),
            extra={"field": "username"},
            **kwargs,
        )


class InvalidPassword(MarketplaceError):
    code = "invalid_password"

    def __init__(self, messages: list[str], **kwargs):
        super().__init__(
            " ".join(str(m) for m in messages),
            extra={"field": "password", "problems": [str(m) for m in messages]},
            **kwargs,
        )


class InvalidQuantity(MarketplaceError):
    code = "invalid_quantity"

    def __init__(self, *, maximum: int, **kwargs):
        super().__init__(
            _("Choose a quantity between 1 and %(maximum)s.") % {"maximum": maximum},
            extra={"field": "quantity", "maximum": maximum},
            **kwargs,
        )


class OrderOverTransactionLimit(MarketplaceError):
    """Several items worth more than the per-transaction limit: split the order."""

    code = "over_transaction_limit"

    def __init__(self, *, value, limit, **kwargs):
        super().__init__(
            _(
                "This order is worth ¥%(value)s, above the ¥%(limit)s limit per cross-border "
                "order. Split it into several orders of at most ¥%(limit)s each."
            )
            % {"value": f"{value:,.2f}", "limit": f"{limit:,.2f}"},
            extra={"value": str(value), "limit": str(limit)},
            **kwargs,
        )


class AnnualQuotaExceeded(MarketplaceError):
    code = "annual_quota_exceeded"

    def __init__(self, *, value, remaining, limit, **kwargs):
        super().__init__(
            _(
                "This order (¥%(value)s) is above what is left of your ¥%(limit)s annual "
                "cross-border allowance: ¥%(remaining)s. Remove items to stay within it."
            )
            % {
                "value": f"{value:,.2f}",
                "remaining": f"{remaining:,.2f}",
                "limit": f"{limit:,.2f}",
            },
            extra={"value": str(value), "remaining": str(remaining), "limit": str(limit)},
            **kwargs,
        )


class MerchantStateError(MarketplaceError):
    code = "merchant_state"
    http_status = 409


class ListingUnavailable(MarketplaceError):
    code = "listing_unavailable"
    http_status = 404

    def __init__(self, **kwargs):
        super().__init__(
            _("This product is not on sale at the moment. Browse the store for others."),
            **kwargs,
        )


class OrderNotFound(MarketplaceError):
    """Also for someone else's order: the same answer as for one that does not exist."""

    code = "order_not_found"
    http_status = 404

    def __init__(self, **kwargs):
        super().__init__(
            _("No such order in your account. Check the order number in My orders."), **kwargs
        )


class IllegalTransition(MarketplaceError):
    code = "illegal_transition"
    http_status = 409

    def __init__(self, *, number: str, state: str, to: str, message=None, **kwargs):
        super().__init__(
            message
            or _("Order %(number)s is %(state)s and cannot become %(to)s now.")
            % {"number": number, "state": state, "to": to},
            extra={"state": state, "to": to},
            **kwargs,
        )


class CartEmpty(MarketplaceError):
    code = "cart_empty"

    def __init__(self, **kwargs):
        super().__init__(_("Your cart is empty. Add products before checking out."), **kwargs)


class InvalidDelivery(MarketplaceError):
    code = "invalid_delivery"

    def __init__(self, message=None, *, field: str = "delivery", **kwargs):
        super().__init__(
            message
            or _(
                "Choose a pickup counter inside the special supervision zone, or give a "
                "delivery address."
            ),
            extra={"field": field},
            **kwargs,
        )


class OutOfStock(MarketplaceError):
    code = "insufficient_stock"
    http_status = 409

    def __init__(self, *, name: str, asked: int, available: int, **kwargs):
        super().__init__(
            _(
                "Only %(available)s of %(name)s left where you chose to collect (you asked "
                "for %(asked)s). Lower the quantity or choose another counter."
            )
            % {"available": available, "name": name, "asked": asked},
            extra={"asked": asked, "available": available},
            **kwargs,
        )


class PaymentNotPossible(MarketplaceError):
    code = "payment_not_possible"
    http_status = 409

    def __init__(self, *, number: str, state: str, **kwargs):
        super().__init__(
            _("Order %(number)s is %(state)s: there is nothing to pay.")
            % {"number": number, "state": state},
            extra={"state": state},
            **kwargs,
        )


class PayerNotBuyer(MarketplaceError):
    """Customs' rule: the payer must be the buyer (real name and resident ID). Refused before
    any charge is created."""

    code = "payer_not_buyer"
    http_status = 409


class PaymentProviderUnavailable(MarketplaceError):
    code = "payment_provider_unavailable"
    http_status = 503

    def __init__(self, **kwargs):
        super().__init__(
            _("The payment provider did not answer as expected. Nothing was charged; please try "
              "again in a minute."),
            **kwargs,
        )  # fmt: skip


class NotificationRejected(MarketplaceError):
    """A payment notification that is stale, replayed or badly signed (never shown to shoppers)."""

    code = "notification_rejected"
    http_status = 403


class ReturnNotAllowed(MarketplaceError):
    code = "return_not_allowed"
    http_status = 409

    def __init__(self, message=None, **kwargs):
        super().__init__(
            message
            or _(
                "Only orders released within the last 30 days can be returned. Contact "
                "customer service for anything else."
            ),
            **kwargs,
        )


class NotReadyForHandover(MarketplaceError):
    code = "not_ready_for_handover"
    http_status = 409

    def __init__(self, *, number: str, state: str, **kwargs):
        super().__init__(
            _(
                "Order %(number)s is %(state)s: goods can be handed over only once it is paid "
                "and released by customs."
            )
            % {"number": number, "state": state},
            extra={"state": state},
            **kwargs,
        )

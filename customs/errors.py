"""Refusals of the customs app, each with a stable machine-readable code."""

from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class CustomsError(DomainError):
    code = "customs_error"


class PartyNotRegistered(CustomsError):
    code = "customs_party_not_registered"


class PartySuspended(CustomsError):
    code = "customs_party_suspended"


class NotOnPositiveList(CustomsError):
    code = "customs_not_on_positive_list"


class ProhibitedGoods(CustomsError):
    code = "customs_prohibited_goods"


class YearlyCapExceeded(CustomsError):
    code = "customs_yearly_cap_exceeded"


class ThreeOrderMismatch(CustomsError):
    code = "customs_three_order_mismatch"


class TaxMismatch(CustomsError):
    code = "customs_tax_mismatch"


class FilingConflict(CustomsError):
    """The same order number was filed before with different content."""

    code = "customs_filing_conflict"
    http_status = 409


class IllegalTransition(CustomsError):
    code = "customs_illegal_transition"
    http_status = 409


class NotCustomsOfficer(CustomsError):
    """Inspection decisions belong to customs: platform and merchant staff are refused."""

    code = "customs_not_officer"
    http_status = 403


class DecisionPending(CustomsError):
    code = "customs_decision_pending"
    http_status = 409


class AccountBookMissing(CustomsError):
    code = "customs_account_book_missing"


class BadSignature(CustomsError):
    code = "customs_bad_signature"
    http_status = 401


class GatewayRejected(CustomsError):
    """The gateway refused the message (4xx): never retried, the declarations are rejected."""

    code = "customs_gateway_rejected"
    http_status = 502


class GatewayUnavailable(Exception):
    """Timeout, connection error or 5xx: transient, the task retries with backoff."""


class InvalidMessage(CustomsError):
    code = "customs_invalid_message"


DEFAULT_MESSAGES = {
    "not_found": _("No customs filing exists for this order."),
}

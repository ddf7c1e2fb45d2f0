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


class GatewayRejected(CustomsError):
    """The gateway refused the message (4xx): never retried, the declarations are rejected."""

    code = "customs_gateway_rejected"
    http_status = 502


class ReturnNotApproved(CustomsError):
    code = "customs_return_not_approved"
    http_status = 404

    def __init__(self, *, return_no: str) -> None:
        super().__init__(
            _(
                "Return %(return_no)s is not approved by customs (or does not exist); "
                "keep the goods aside and ask customs staff."
            )
            % {"return_no": return_no},
            extra={"return_no": return_no},
        )


class ReturnScanMismatch(CustomsError):
    code = "customs_return_scan_mismatch"

    def __init__(self, *, return_no: str, missing: dict, extra: dict, unknown: list) -> None:
        parts = [", ".join(f"{i} x{n}" for i, n in sorted(d.items())) for d in (missing, extra)]
        super().__init__(
            _(
                "The scanned units do not match return %(return_no)s. Missing: %(missing)s. "
                "Not in the return: %(extra)s. Unknown barcodes: %(unknown)s. Scan again."
            )
            % {
                "return_no": return_no,
                "missing": parts[0] or "-",
                "extra": parts[1] or "-",
                "unknown": ", ".join(unknown) or "-",
            },
            extra={"return_no": return_no, "missing": missing, "extra": extra, "unknown": unknown},
        )


class GatewayUnavailable(Exception):
    """Timeout, connection error or 5xx: transient, the task retries with backoff."""


class InvalidMessage(CustomsError):
    code = "customs_invalid_message"


DEFAULT_MESSAGES = {
    "not_found": _("No customs filing exists for this order."),
}

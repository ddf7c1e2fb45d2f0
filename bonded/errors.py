"""Refusals of the ledger, each with a stable code and a message that says what to do."""

from django.utils.translation import gettext as _

from config.errors import DomainError


class LedgerError(DomainError):
    code = "ledger_error"


class InsufficientStock(LedgerError):
    code = "insufficient_stock"
    http_status = 409

    def __init__(self, *, item_no: str, asked: int, available: int, location_code: str = ""):
        super().__init__(
            _("Only %(available)s of item %(item)s available, %(asked)s asked. Lower the quantity.")
            % {"available": available, "item": item_no, "asked": asked},
            extra={
                "item_no": item_no,
                "asked": asked,
                "available": available,
                "location_code": location_code,
            },
        )
        self.item_no, self.asked, self.available = item_no, asked, available


class InvalidQuantity(LedgerError):
    code = "invalid_quantity"

    def __init__(self, *, field: str, value: object):
        super().__init__(
            _("%(field)s must be a whole number of units from 1 to 1,000,000; got %(value)s.")
            % {"field": field, "value": value},
            extra={"field": field, "value": str(value)},
        )


class UnknownItem(LedgerError):
    code = "unknown_item"
    http_status = 404

    def __init__(self, *, item_no: str):
        super().__init__(
            _("No goods item %(item)s. Check the customs item number.") % {"item": item_no},
            extra={"field": "item_no", "item_no": item_no},
        )


class UnknownLocation(LedgerError):
    code = "unknown_location"
    http_status = 404

    def __init__(self, *, code: str, field: str = "location_code"):
        super().__init__(
            _("No location %(code)s. Check the location code.") % {"code": code},
            extra={"field": field, "location_code": code},
        )


class WrongLocationKind(LedgerError):
    code = "wrong_location_kind"

    def __init__(self, *, code: str, expected: str, field: str = "location_code"):
        super().__init__(
            _("Location %(code)s cannot be used here: it must be %(expected)s.")
            % {"code": code, "expected": expected},
            extra={"field": field, "location_code": code, "expected": expected},
        )


class MissingEntryDeclaration(LedgerError):
    code = "missing_entry_declaration"

    def __init__(self):
        super().__init__(
            _("A receipt into bond needs its entry declaration number."),
            extra={"field": "entry_declaration_no"},
        )


class ReferenceConflict(LedgerError):
    code = "reference_conflict"
    http_status = 409

    def __init__(self, *, kind: str, reference: str):
        super().__init__(
            _("Reference %(ref)s was already used for a different %(kind)s. Use a new reference.")
            % {"ref": reference, "kind": kind},
            extra={"field": "reference", "reference": reference, "kind": kind},
        )


class EmptyLines(LedgerError):
    code = "no_lines"

    def __init__(self):
        super().__init__(_("Give at least one line."), extra={"field": "lines"})


class DuplicateLine(LedgerError):
    code = "duplicate_line"

    def __init__(self, *, line_no: int):
        super().__init__(
            _("Line %(line)s appears twice; number each line once.") % {"line": line_no},
            extra={"field": "line_no", "line_no": line_no},
        )


class ReservationNotFound(LedgerError):
    code = "reservation_not_found"
    http_status = 404

    def __init__(self, *, reference: str):
        super().__init__(
            _("No active stock reservation for %(ref)s.") % {"ref": reference},
            extra={"reference": reference},
        )


class ReservationExpired(LedgerError):
    code = "reservation_expired"
    http_status = 409

    def __init__(self, *, reference: str):
        super().__init__(
            _("The stock held for %(ref)s has expired or was released; place the order again.")
            % {"ref": reference},
            extra={"reference": reference},
        )


class NotReleased(LedgerError):
    code = "not_released"
    http_status = 409

    def __init__(self, *, reference: str, location_code: str):
        super().__init__(
            _("Goods for %(ref)s are still under bond at %(loc)s; customs has not released them.")
            % {"ref": reference, "loc": location_code},
            extra={"reference": reference, "location_code": location_code},
        )


class TransferLeavesBond(LedgerError):
    code = "transfer_leaves_bond"

    def __init__(self, *, from_code: str, to_code: str):
        super().__init__(
            _(
                "Goods cannot move from %(src)s to %(dst)s by transfer: leaving bond needs a "
                "customs release."
            )
            % {"src": from_code, "dst": to_code},
            extra={"from_location": from_code, "to_location": to_code},
        )


class BookBalanceExceeded(LedgerError):
    code = "book_balance_exceeded"
    http_status = 409

    def __init__(self, *, item_no: str, asked: int, balance: int):
        super().__init__(
            _(
                "The account book holds only %(balance)s of %(item)s; cannot write off %(asked)s. "
                "Reconcile the book."
            )
            % {"balance": balance, "item": item_no, "asked": asked},
            extra={"item_no": item_no, "asked": asked, "balance": balance},
        )


class BelowReserved(LedgerError):
    code = "count_below_reserved"
    http_status = 409

    def __init__(self, *, item_no: str, counted: int, reserved: int):
        super().__init__(
            _(
                "Counted %(counted)s of %(item)s but %(reserved)s are promised to orders. "
                "Cancel or move those orders first, then post the count."
            )
            % {"counted": counted, "item": item_no, "reserved": reserved},
            extra={"item_no": item_no, "counted": counted, "reserved": reserved},
        )


class StocktakeClosed(LedgerError):
    code = "stocktake_closed"
    http_status = 409

    def __init__(self, *, reference: str):
        super().__init__(
            _("Stocktake %(ref)s is already posted; open a new one.") % {"ref": reference},
            extra={"reference": reference},
        )

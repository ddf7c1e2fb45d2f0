"""Refusals in the warehouse, each with a stable code and a message saying what to do."""

from django.utils.translation import gettext_lazy as _

from config.errors import DomainError


class DispatchError(DomainError):
    code = "dispatch_error"
    http_status = 409


class ShipmentNotFound(DispatchError):
    code = "shipment_not_found"
    http_status = 404

    def __init__(self) -> None:
        super().__init__(_("No such shipment; scan the order's pick slip again."))


class ShipmentStopped(DispatchError):
    code = "shipment_stopped"

    def __init__(self, *, order_no: str, kind: str) -> None:
        super().__init__(
            _("Order %(order_no)s is stopped: fix the mismatch shown first.")
            % {"order_no": order_no},
            extra={"order_no": order_no, "mismatch": kind},
        )


class WrongItemScanned(DispatchError):
    code = "wrong_item"

    def __init__(self, *, expected: str, scanned: str, order_no: str) -> None:
        super().__init__(
            _(
                "Wrong item: scanned %(scanned)s, the pick list wants %(expected)s. Put it back "
                "where it came from, then confirm."
            )
            % {"scanned": scanned, "expected": expected},
            extra={"expected": expected, "scanned": scanned, "order_no": order_no},
        )


class NothingToPick(DispatchError):
    code = "nothing_to_pick"

    def __init__(self) -> None:
        super().__init__(_("Every line of this wave is picked; pack the orders."))


class ShortPick(DispatchError):
    code = "short_pick"

    def __init__(self, *, order_no: str, item_no: str, missing: int) -> None:
        super().__init__(
            _(
                "Short pick on order %(order_no)s: %(missing)s of %(item_no)s missing. Look for "
                "them, or take the order out of the wave for a stock check."
            )
            % {"order_no": order_no, "missing": missing, "item_no": item_no},
            extra={"order_no": order_no, "item_no": item_no, "missing": missing},
        )


class BadShortCount(DispatchError):
    code = "bad_short_count"
    http_status = 400

    def __init__(self, *, remaining: int) -> None:
        super().__init__(
            _("Enter how many of the %(remaining)s still needed are on the shelf (fewer).")
            % {"remaining": remaining},
            extra={"remaining": remaining},
        )


class NotPicked(DispatchError):
    code = "not_picked"

    def __init__(self, *, order_no: str, state: str) -> None:
        super().__init__(
            _("Order %(order_no)s is %(state)s; pick every line before packing.")
            % {"order_no": order_no, "state": state},
            extra={"order_no": order_no, "state": state},
        )


class BadWeight(DispatchError):
    code = "bad_weight"
    http_status = 400

    def __init__(self) -> None:
        super().__init__(_("Enter the weight shown on the scale in kg, for example 1.250."))


class WeightOutOfTolerance(DispatchError):
    code = "weight_out_of_tolerance"

    def __init__(self, *, measured, declared, allowed) -> None:
        super().__init__(
            _(
                "The parcel weighs %(measured)s kg but %(declared)s kg was declared (at most "
                "%(allowed)s kg apart). Check the contents and packing, then weigh again."
            )
            % {"measured": measured, "declared": declared, "allowed": allowed},
            extra={"measured": str(measured), "declared": str(declared), "allowed": str(allowed)},
        )


class NotPacked(DispatchError):
    code = "not_packed"

    def __init__(self, *, order_no: str, state: str) -> None:
        super().__init__(
            _("Order %(order_no)s is %(state)s; pack and weigh it before handing it over.")
            % {"order_no": order_no, "state": state},
            extra={"order_no": order_no, "state": state},
        )


class NotDispatched(DispatchError):
    code = "not_dispatched"

    def __init__(self, *, logistics_no: str) -> None:
        super().__init__(
            _("Waybill %(no)s has not left the warehouse.") % {"no": logistics_no},
            extra={"logistics_no": logistics_no},
        )


class MismatchAlreadyFixed(DispatchError):
    code = "mismatch_fixed"

    def __init__(self) -> None:
        super().__init__(_("This mismatch was already fixed."))


class BadResolution(DispatchError):
    code = "bad_resolution"
    http_status = 400

    def __init__(self, *, kind: str) -> None:
        super().__init__(
            _("That is not a way to fix this kind of mismatch."), extra={"mismatch": kind}
        )

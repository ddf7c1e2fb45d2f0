"""Writes of the customs app. The apps above call only what is exported here."""

from customs.services.cancellation import (
    declaration_create_return,
    declarations_cancel_for_order,
)
from customs.services.clearance import clearance_recompute, clearance_release_goods
from customs.services.declarations import (
    declaration_create_payment,
    declarations_create_for_order,
    inventory_declare,
    order_precheck,
    refusal_record,
)
from customs.services.filing import declarations_file
from customs.services.inspection import (
    inspection_decision_record,
    inspection_decision_send,
    inspection_decisions_resend,
)
from customs.services.receipts import (
    receipt_apply,
    receipts_accept_push,
    receipts_apply,
    receipts_apply_due,
    receipts_apply_pending,
    receipts_apply_pushed,
    receipts_poll,
    receipts_record,
)
from customs.services.returns import (
    return_into_bond_try,
    return_retry_flagged,
    return_scan_in,
    returns_into_bond_retry,
)
from customs.services.waybill_status import waybill_status_file

__all__ = [
    "clearance_recompute",
    "clearance_release_goods",
    "declaration_create_payment",
    "declaration_create_return",
    "declarations_cancel_for_order",
    "declarations_create_for_order",
    "declarations_file",
    "inspection_decision_record",
    "inspection_decision_send",
    "inspection_decisions_resend",
    "inventory_declare",
    "order_precheck",
    "receipt_apply",
    "receipts_accept_push",
    "receipts_apply",
    "receipts_apply_due",
    "receipts_apply_pending",
    "receipts_apply_pushed",
    "receipts_poll",
    "receipts_record",
    "refusal_record",
    "return_into_bond_try",
    "return_retry_flagged",
    "return_scan_in",
    "returns_into_bond_retry",
    "waybill_status_file",
]

"""The sandbox authority's rules: what customs and CIQ check, and the receipts they give.

Authoritative checks happen here, on the data the sandbox stored itself: the three-order
comparison and the positive list, plus the rejection rules set through the knobs.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

POSITIVE_LIST = Path(__file__).resolve().parent / "positive_list.json"


@dataclass
class Knobs:
    latency_ms: int = 0  # delay between receipt steps
    response_delay_ms: int = 0  # delay before every HTTP answer
    fail_next: int = 0  # the next N requests fail in fail_mode
    fail_mode: str = "500"  # 500 | 503 | timeout
    timeout_seconds: float = 10.0  # how long a "timeout" request hangs
    error_rate: float = 0.0  # share of requests answered 500
    outage: bool = False  # answer 503 to everything
    inspection_rate: float = 0.0  # customs: share of lists sent to inspection (500)
    ciq_inspection_rate: float = 0.0
    reject_ebc_codes: list[str] = field(default_factory=list)
    reject_hs_codes: list[str] = field(default_factory=list)
    callback_url: str = ""
    push_receipts: bool = True
    # Hold the next `hold_next` message requests of `hold_types` (all CEB types when empty)
    # in flight for up to `hold_seconds` before handling them (watch.py); 0 s lets go at once.
    hold_next: int = 0
    hold_seconds: float = 0.0
    hold_types: list[str] = field(default_factory=list)
    # An authority that stops answering: the next N records (of quiet_types, all when empty)
    # are answered 2 declaring and then ... mute: processed, but no receipt is ever sent or
    # listed for them (the status query still knows); stall: never processed (as a lost
    # step); forget: not even stored (the status query does not know them).
    mute_after_accept: int = 0
    stall_after_accept: int = 0
    forget_after_accept: int = 0
    quiet_types: list[str] = field(default_factory=list)
    duplicate_key_on_resend: bool = False  # a re-sent record it holds: -1 duplicate business key
    status_query: bool = True  # False: POST <base>/status answers 404 (no status query)
    # An inventory list whose order, payment or waybill has not arrived yet waits this long for
    # it (rechecked every half second) before it is refused: the payment record comes from the
    # payment company, not from the platform, and may come after the list. A document that
    # arrived and was refused is not waited for.
    documents_wait_seconds: float = 30.0

    def update(self, values: dict) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown knob {key}")
            setattr(self, key, type(getattr(self, key))(value))


def load_positive_list() -> set[str]:
    return set(json.loads(POSITIVE_LIST.read_text())["hs_codes"])


def _d(value: str) -> Decimal:
    return Decimal(value or "0")


def first_checks(message_type: str, head: dict, knobs: Knobs) -> str | None:
    """Logical checks on an order, payment or waybill alone; a reason means 100."""
    if message_type == "CEB311":
        if head["ebcCode"] in knobs.reject_ebc_codes:
            return f"e-commerce enterprise {head['ebcCode']} is refused by rule"
        paid = _d(head["goodsValue"]) + _d(head["freight"]) + _d(head["taxTotal"])
        if paid - _d(head["discount"]) != _d(head["acturalPaid"]):
            return "acturalPaid does not equal goodsValue + freight + taxTotal - discount"
    return None


def three_order_reasons(
    *, inventory: dict, order: dict | None, payment: dict | None, waybill: dict | None,
    positive: set[str], knobs: Knobs,
) -> list[str]:  # fmt: skip
    """The authoritative comparison of the inventory list with order, payment and waybill."""
    head, lines = inventory["head"], inventory["lines"]
    missing = [
        n for n, r in (("order", order), ("payment", payment), ("waybill", waybill)) if not r
    ]
    if missing:
        return [f"no accepted {' / '.join(missing)} for order {head['orderNo']}"]
    o, ol, p, w = order["head"], order["lines"], payment["head"], waybill["head"]
    reasons = []
    if not (o["orderNo"] == p["orderNo"] == w["orderNo"] == head["orderNo"]):
        reasons.append("orderNo differs between the documents")
    if o["ebcCode"] != head["ebcCode"]:
        reasons.append("ebcCode of the list differs from the order")
    if w["logisticsNo"] != head["logisticsNo"] or w["logisticsCode"] != head["logisticsCode"]:
        reasons.append("logisticsNo of the list differs from the waybill")
    if _d(o["acturalPaid"]) != _d(p["amountPaid"]):
        reasons.append(f"acturalPaid {o['acturalPaid']} differs from amountPaid {p['amountPaid']}")
    if o["buyerName"] != p["payerName"] or o["buyerIdNumber"] != p["payerIdNumber"]:
        reasons.append("the payer is not the buyer")
    if o["buyerIdNumber"] != head["buyerIdNumber"]:
        reasons.append("buyer ID of the list differs from the order")
    for name in ("consignee", "consigneeTelephone", "consigneeAddress"):
        if o[name] != w[name]:
            reasons.append(f"{name} differs between order and waybill")
    ordered = {(x["gnum"], x["itemNo"], x["qty"]) for x in ol}
    listed = {(x["gnum"], x["itemNo"], x["qty"]) for x in lines}
    if ordered != listed:
        reasons.append("inventory list lines differ from the order lines")
    for line in lines:
        gcode = line["gcode"]
        if gcode not in positive and gcode[:8] not in positive:
            reasons.append(f"HS {gcode} is not on the positive list")
        if gcode in knobs.reject_hs_codes:
            reasons.append(f"HS {gcode} is refused by rule")
    return reasons


def goes_to_inspection(rate: float) -> bool:
    return rate > 0 and random.random() < rate

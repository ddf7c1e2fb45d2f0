"""Plain data the apps above hand to customs (no models cross the boundary).

The marketplace builds these from its order, waybill and payment and calls
`customs.services.declarations_create_for_order(order=..., waybill=...)` and
`customs.services.declaration_create_payment(payment=...)` inside its own transaction, so the
declarations become durable together with the order or the payment. Money is Decimal (yuan,
two decimals), quantities whole units, times aware datetimes. Resident ID numbers travel in
`buyer_id_number` / `payer_id_number`; customs stores them encrypted and never logs them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

CNY = "142"
DeliveryMode = Literal["pickup", "delivery"]


@dataclass(frozen=True)
class OrderLineFiling:
    gnum: int  # line number from 1; the inventory list repeats it
    item_no: str  # bonded GoodsItem.item_no (customs item number)
    item_name: str
    bar_code: str
    unit: str  # customs unit code, e.g. "011" (piece)
    qty: int
    price: Decimal  # unit price
    total_price: Decimal  # qty x price
    country: str  # country of origin (ISO 3166 alpha-2, as bonded stores it)
    hs_code: str  # 10-digit tariff line
    vat_rate: Decimal = Decimal("0.13")
    consumption_tax_rate: Decimal = Decimal("0")  # ad valorem c; 0.15 for high-end cosmetics
    duty_rate: Decimal = Decimal("0")  # customs duty, paid only by a single over-limit item
    note: str = ""


@dataclass(frozen=True)
class OrderFiling:
    order_no: str
    ebp_code: str  # platform
    ebc_code: str  # merchant (e-commerce enterprise)
    pay_code: str  # payment company
    logistics_code: str
    goods_value: Decimal
    freight: Decimal
    discount: Decimal
    tax_total: Decimal
    actural_paid: Decimal  # (sic) = goods_value + freight + tax_total - discount
    buyer_reg_no: str  # the shopper's account on the platform
    buyer_name: str
    buyer_id_number: str  # resident ID (buyerIdType 1); stored encrypted
    buyer_telephone: str
    consignee: str
    consignee_telephone: str
    consignee_address: str
    lines: tuple[OrderLineFiling, ...]
    delivery_mode: DeliveryMode  # "pickup" at a counter or "delivery" from the outbound dock
    destination_code: str  # bonded Location code the goods move to on release
    ordered_at: datetime
    insured_fee: Decimal = Decimal("0")
    consignee_district: str = ""
    currency: str = CNY
    pay_transaction_id: str = ""  # usually unknown before payment
    note: str = ""

    def as_payload(self) -> dict:
        """The snapshot customs keeps, without the resident ID (that one is stored encrypted)."""
        data = _plain(asdict(self))
        data.pop("buyer_id_number")
        return data


@dataclass(frozen=True)
class WaybillFiling:
    logistics_code: str
    logistics_no: str
    freight: Decimal
    weight: Decimal  # gross kg
    consignee: str
    consignee_address: str
    consignee_telephone: str
    insured_fee: Decimal = Decimal("0")
    pack_no: int = 1
    goods_info: str = ""
    logistics_name: str = ""
    # The party filing it (BaseTransfer copCode/copName): the courier, whose waybill it is;
    # empty: the platform's own (CUSTOMS_SENDER_CODE), as for counter pickup.
    sender_code: str = ""
    sender_name: str = ""

    def as_payload(self) -> dict:
        return _plain(asdict(self))


@dataclass(frozen=True)
class WaybillStatusFiling:
    """A waybill status report (CEB513), filed as the parcel leaves the zone ("L") and when the
    consignee signs for it ("S"). Our rule: one report per waybill and status."""

    order_no: str
    logistics_code: str
    logistics_no: str
    status: Literal["L", "S"]
    at: datetime
    logistics_name: str = ""
    weight: Decimal | None = None  # measured gross kg, kept with the snapshot (not in CEB513)
    note: str = ""
    sender_code: str = ""  # as WaybillFiling's: the courier's code, or empty for the platform
    sender_name: str = ""

    def as_payload(self) -> dict:
        return _plain(asdict(self))


@dataclass(frozen=True)
class PaymentFiling:
    order_no: str
    ebp_code: str
    pay_code: str
    pay_transaction_id: str
    payer_name: str
    payer_id_number: str  # resident ID; stored encrypted
    payer_telephone: str
    amount_paid: Decimal
    paid_at: datetime
    currency: str = CNY
    # Set when the payment company filed the payment record (CEB411) itself, as WeChat Pay and
    # Alipay do: its name and answer. Customs then records the payment as accepted and never
    # sends a CEB411 of its own for it.
    filed_by: str = ""
    filed_answer: str = ""

    def as_payload(self) -> dict:
        data = _plain(asdict(self))
        data.pop("payer_id_number")
        for key in ("filed_by", "filed_answer"):  # absent unless set: old fingerprints hold
            if not data[key]:
                data.pop(key)
        return data


@dataclass(frozen=True)
class ReturnLineFiling:
    gnum: int
    item_no: str
    qty: int


@dataclass(frozen=True)
class ReturnFiling:
    """A return request (CEB625) for released goods coming back into bond."""

    order_no: str
    return_no: str
    reason: str
    location_code: str  # bonded storage the goods go back to
    lines: tuple[ReturnLineFiling, ...] = field(default_factory=tuple)


def _plain(value):
    """JSON-safe copy: Decimal as a two-decimal string, datetimes ISO 8601."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value

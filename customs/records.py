"""Declaration snapshot -> XML record (head + lines) in the field names of the messages."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from config.crypto import mask_id
from customs.messages import time14
from customs.models import Declaration

MASKED_ID = "000000000000000000"  # keeps masked XML schema-valid; the last 4 are shown below


def _id(decl: Declaration, masked: bool) -> str:
    if not masked:
        return decl.id_number
    return MASKED_ID[:-4] + mask_id(decl.id_number)[-4:]


def _app(decl: Declaration) -> dict:
    return {"guid": decl.guid, "appType": "1", "appTime": time14(timezone.now()), "appStatus": "2"}


def record_for(decl: Declaration, *, masked: bool = False) -> dict:
    p = decl.payload
    names = p.get("names", {})
    agent = settings.CUSTOMS_AGENT_CODE
    if decl.kind == "order":
        head = {
            **_app(decl),
            "orderType": "I",
            "orderNo": p["order_no"],
            "ebpCode": p["ebp_code"],
            "ebpName": names.get("platform", p["ebp_code"]),
            "ebcCode": p["ebc_code"],
            "ebcName": names.get("merchant", p["ebc_code"]),
            "goodsValue": p["goods_value"],
            "freight": p["freight"],
            "discount": p["discount"],
            "taxTotal": p["tax_total"],
            "acturalPaid": p["actural_paid"],
            "currency": p["currency"],
            "buyerRegNo": p["buyer_reg_no"],
            "buyerName": p["buyer_name"],
            "buyerTelephone": p["buyer_telephone"],
            "buyerIdType": "1",
            "buyerIdNumber": _id(decl, masked),
            "payCode": p["pay_code"],
            "payName": names.get("payment", p["pay_code"]),
            "payTransactionId": p.get("pay_transaction_id"),
            "consignee": p["consignee"],
            "consigneeTelephone": p["consignee_telephone"],
            "consigneeAddress": p["consignee_address"],
            "consigneeDitrict": p.get("consignee_district"),
            "note": p.get("note"),
        }
        lines = [
            {
                "gnum": x["gnum"],
                "itemNo": x["item_no"],
                "itemName": x["item_name"],
                "barCode": x["bar_code"],
                "unit": x["unit"],
                "qty": x["qty"],
                "price": x["price"],
                "totalPrice": x["total_price"],
                "currency": p["currency"],
                "country": x["country"],
                "note": x.get("note"),
            }
            for x in p["lines"]
        ]
        return {"head": head, "lines": lines}
    if decl.kind == "payment":
        return {
            "head": {
                **_app(decl),
                "payCode": p["pay_code"],
                "payName": names.get("payment", p["pay_code"]),
                "payTransactionId": p["pay_transaction_id"],
                "orderNo": p["order_no"],
                "ebpCode": p["ebp_code"],
                "ebpName": names.get("platform", p["ebp_code"]),
                "payerIdType": "1",
                "payerIdNumber": _id(decl, masked),
                "payerName": p["payer_name"],
                "telephone": p["payer_telephone"],
                "amountPaid": p["amount_paid"],
                "currency": p["currency"],
                "payTime": time14(p["paid_at"]),
            }
        }
    if decl.kind == "waybill":
        return {
            "head": {
                **_app(decl),
                "logisticsCode": p["logistics_code"],
                "logisticsName": p.get("logistics_name") or p["logistics_code"],
                "logisticsNo": p["logistics_no"],
                "orderNo": p["order_no"],
                "freight": p["freight"],
                "insuredFee": p["insured_fee"],
                "currency": "142",
                "weight": p["weight"],
                "packNo": p["pack_no"],
                "goodsInfo": p.get("goods_info"),
                "consignee": p["consignee"],
                "consigneeAddress": p["consignee_address"],
                "consigneeTelephone": p["consignee_telephone"],
            }
        }
    if decl.kind == "waybill_status":
        return {
            "head": {
                **_app(decl),
                "logisticsCode": p["logistics_code"],
                "logisticsName": p.get("logistics_name") or p["logistics_code"],
                "logisticsNo": p["logistics_no"],
                "logisticsStatus": p["status"],
                "logisticsTime": time14(p["at"]),
                "note": p.get("note"),
            }
        }
    if decl.kind == "inventory":
        head = {
            **_app(decl),
            "orderNo": p["order_no"],
            "ebpCode": p["ebp_code"],
            "ebpName": names.get("platform", p["ebp_code"]),
            "ebcCode": p["ebc_code"],
            "ebcName": names.get("merchant", p["ebc_code"]),
            "logisticsNo": p["logistics_no"],
            "logisticsCode": p["logistics_code"],
            "logisticsName": names.get("logistics", p["logistics_code"]),
            "copNo": p["cop_no"],
            "ieFlag": "I",
            "emsNo": p["ems_no"],
            "areaCode": p["area_code"],
            "tradeMode": "1210",
            "buyerIdType": "1",
            "buyerIdNumber": _id(decl, masked),
            "buyerName": p["buyer_name"],
            "buyerTelephone": p["buyer_telephone"],
            "consigneeAddress": p["consignee_address"],
            "agentCode": agent,
            "agentName": names.get("agent", agent),
            "freight": p["freight"],
            "insuredFee": p["insured_fee"],
            "currency": "142",
            "packNo": p["pack_no"],
            "grossWeight": p["gross_weight"],
            "netWeight": p["net_weight"],
            "note": "pickup" if p.get("delivery_mode") == "pickup" else "delivery",
        }
        lines = [
            {
                "gnum": x["gnum"],
                "itemRecordNo": x["item_record_no"],
                "itemNo": x["item_no"],
                "gcode": x["hs_code"],
                "gname": x["item_name"],
                "barCode": x["bar_code"],
                "country": x["country"],
                "currency": "142",
                "qty": x["qty"],
                "unit": x["unit"],
                "price": x["price"],
                "totalPrice": x["total_price"],
            }
            for x in p["lines"]
        ]
        return {"head": head, "lines": lines}
    head = {
        **_app(decl),
        "orderNo": p["order_no"],
        "ebpCode": p["ebp_code"],
        "ebcCode": p["ebc_code"],
        "logisticsNo": p["logistics_no"],
        "logisticsCode": p["logistics_code"],
        "copNo": p["cop_no"],
        "invtNo": p["invt_no"],
        "buyerIdType": "1",
        "buyerIdNumber": _id(decl, masked),
        "buyerName": p["buyer_name"],
        "agentCode": agent,
        "reason": p["reason"],
    }
    if decl.kind == "cancel":
        return {"head": head}
    lines = [{"gnum": x["gnum"], "itemNo": x["item_no"], "qty": x["qty"]} for x in p["lines"]]
    return {"head": head, "lines": lines}

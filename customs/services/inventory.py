"""Snapshots of the inventory list, its cancellation and return, built from filed data."""

from __future__ import annotations

from customs.filings import ReturnFiling
from customs.models import Declaration


def build_inventory_payload(*, order: Declaration, waybill: Declaration) -> dict:
    o, w, book = order.payload, waybill.payload, order.payload["book"]
    return {
        "order_no": o["order_no"],
        "cop_no": f"C{o['order_no']}"[:60],
        "ebp_code": o["ebp_code"],
        "ebc_code": o["ebc_code"],
        "logistics_code": w["logistics_code"],
        "logistics_no": w["logistics_no"],
        "ems_no": book["ems_no"],
        "area_code": book["area_code"],
        "buyer_name": o["buyer_name"],
        "buyer_telephone": o["buyer_telephone"],
        "consignee_address": o["consignee_address"],
        "freight": w["freight"],
        "insured_fee": w["insured_fee"],
        "pack_no": w["pack_no"],
        "gross_weight": book["gross_weight"],
        "net_weight": book["net_weight"],
        "delivery_mode": o["delivery_mode"],
        "names": o.get("names", {}),
        "lines": [
            {
                "gnum": line["gnum"],
                "item_record_no": book["records"][line["item_no"]],
                "item_no": line["item_no"],
                "hs_code": line["hs_code"],
                "item_name": line["item_name"],
                "bar_code": line["bar_code"],
                "country": line["country"],
                "qty": line["qty"],
                "unit": line["unit"],
                "price": line["price"],
                "total_price": line["total_price"],
            }
            for line in o["lines"]
        ],
    }


def cancel_payload(*, inventory: Declaration, invt_no: str, reason: str) -> dict:
    p = inventory.payload
    keep = ("order_no", "cop_no", "ebp_code", "ebc_code", "logistics_code", "logistics_no")
    return {
        **{key: p[key] for key in keep},
        "invt_no": invt_no or p["cop_no"],
        "buyer_name": p["buyer_name"],
        "reason": reason[:1000] or "order cancelled",
    }


def return_payload(*, inventory: Declaration, invt_no: str, filing: ReturnFiling) -> dict:
    return {
        **cancel_payload(inventory=inventory, invt_no=invt_no, reason=filing.reason),
        "return_no": filing.return_no,
        "location_code": filing.location_code,
        "lines": [{"gnum": x.gnum, "item_no": x.item_no, "qty": x.qty} for x in filing.lines],
    }

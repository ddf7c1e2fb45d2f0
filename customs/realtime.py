"""Customs' real-time data request for payment and order authenticity: the wire format.

Customs calls the platform's open interface with the order it wants to see:
    openReq={"orderNo": "...", "sessionID": "...", "serviceTime": 1544519952469}
and the platform answers at once {"code": "10000", "message": "", "serviceTime": ...}, then
uploads the order's original payment data within the deadline to customs'
realTimeDataUpload, form field payExInfoStr:
    {"sessionID": "...",
     "payExchangeInfoHead": {"guid", "initalRequest", "initalResponse", "ebpCode", "payCode",
                             "payTransactionId", "totalAmount", "currency", "verDept",
                             "payType", "tradingTime", "note"},
     "payExchangeInfoLists": [{"orderNo", "goodsInfo": [{"gname", "itemLink"}],
                               "recpAccount", "recpCode", "recpName"}],
     "serviceTime": "...", "certNo": "...", "signValue": "..."}
signValue signs, with the same key as the CEB messages (SM3WITHSM2, base64 r||s):
    "sessionID":"<id>"||"payExchangeInfoHead":"<head JSON>"||"payExchangeInfoLists":"<lists
    JSON>"||"serviceTime":"<time>"
(the field names and the sign string as the public 179 implementations build them, e.g.
Weasley-J/chinaport-data-signature's SignConstant.sign179).

The query itself carries no signature in the published interface (customs is known by the
registered address); here it is signed by the authority the same way, over
    "orderNo":"<no>"||"sessionID":"<id>"||"serviceTime":"<time>"
with certNo and signValue beside, and verified under CUSTOMS_EPORT_AUTHORITY_PUBLIC_KEY.
"""

from __future__ import annotations

import base64
import binascii
import json

from customs import sm2

OK = "10000"
BAD_REQUEST = "20000"
BAD_SIGNATURE = "20001"
UNKNOWN_ORDER = "20002"


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def query_sign_string(query: dict) -> bytes:
    return "||".join(
        f'"{name}":"{query.get(name, "")}"' for name in ("orderNo", "sessionID", "serviceTime")
    ).encode()


def upload_sign_string(data: dict) -> bytes:
    return (
        f'"sessionID":"{data["sessionID"]}"||'
        f'"payExchangeInfoHead":"{compact(data["payExchangeInfoHead"])}"||'
        f'"payExchangeInfoLists":"{compact(data["payExchangeInfoLists"])}"||'
        f'"serviceTime":"{data["serviceTime"]}"'
    ).encode()


def signature_holds(public_key: str, message: bytes, sign_value: str) -> bool:
    try:
        value = base64.b64decode(sign_value or "", validate=True)
    except (binascii.Error, ValueError):
        return False
    return sm2.verify(public_key, message, value)


def sign_query(query: dict, signer) -> dict:
    signed = signer.sign(query_sign_string(query))
    return {**query, "certNo": signed.cert_no, "signValue": base64.b64encode(signed.value).decode()}


def sign_upload(data: dict, signer) -> dict:
    signed = signer.sign(upload_sign_string(data))
    return {**data, "certNo": signed.cert_no, "signValue": base64.b64encode(signed.value).decode()}

"""An Alipay OpenAPI gateway stand-in: the methods our adapter calls, checked and answered as
Alipay documents them (see marketplace/payment_alipay.py for the contract).

Every request's RSA2 `sign` (SHA256withRSA over the sorted k=v&... of all parameters but
`sign`) is checked with the app's public key; every answer is `{"<method>_response": {...},
"sign": ...}` signed over the exact JSON of the response object with the stand-in's own key,
and notifications are form posts signed over the sorted parameters without sign/sign_type.
The wap pay URL and the precreate qr_code lead to its own pay page, where the payer must be
the ext_user_info identity when need_check_info is T."""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from marketplace.standins import json_answer, page, pay_form, post_notification
from marketplace.standins.customs_filing import CustomsFiler, PaymentRecord

CST = timezone(timedelta(hours=8))


def unsigned_string(params: dict, *, drop=("sign",)) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in drop)


class AlipayStandIn:
    # Alipay's payment company as registered with customs: the CEB411's payCode.
    pay_code, pay_name = "31222699S7", "支付宝（中国）网络技术有限公司"
    wallet_telephone = "13800000000"  # the mobile bound to the stand-in's accounts

    def __init__(self, *, app_public_pem: str, alipay_private_pem: str, app_id: str,
                 filer: CustomsFiler | None = None):  # fmt: skip
        self.app_key = load_pem_public_key(app_public_pem.encode())
        self.alipay_key = load_pem_private_key(alipay_private_pem.encode(), password=None)
        self.app_id = app_id
        self.base_url = ""
        self.lock = threading.Lock()
        self.charges: dict[str, dict] = {}
        self.refunds: list[dict] = []
        self.customs: list[dict] = []
        self.refused: list[str] = []
        self.filer = filer  # files the CEB411 with customs on an accepted declaration

    def sign(self, text: str) -> str:
        return base64.b64encode(self.alipay_key.sign(text.encode(), PKCS1v15(), SHA256())).decode()

    def _verified(self, params: dict) -> bool:
        try:
            self.app_key.verify(base64.b64decode(params.get("sign", "")),
                                unsigned_string(params).encode(), PKCS1v15(), SHA256())  # fmt: skip
        except (InvalidSignature, ValueError):
            return False
        return params.get("app_id") == self.app_id and params.get("sign_type") == "RSA2"

    def answer(self, method: str, data: dict):
        inner = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        key = method.replace(".", "_") + "_response"
        raw = f'{{"{key}":{inner},"sign":"{self.sign(inner)}"}}'
        return json_answer(200, raw.encode())

    def handle(self, method: str, path: str, headers, body: bytes):
        parts = urlsplit(path)
        if parts.path.startswith("/pay/"):
            return self.pay_page(method, parts.path.removeprefix("/pay/").strip("/"), body)
        params = dict(parse_qsl(parts.query or body.decode(), keep_blank_values=True))
        if not self._verified(params):
            self.refused.append(f"{params.get('method')}: bad signature")
            error = {
                "code": "40002",
                "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-signature",
            }
            return json_answer(200, json.dumps({"error_response": error}).encode())
        api = params.get("method", "")
        biz = json.loads(params.get("biz_content") or "{}")
        with self.lock:
            if api in ("alipay.trade.precreate", "alipay.trade.wap.pay"):
                return self.charge(api, params, biz)
            if api == "alipay.trade.query":
                return self.query(api, biz)
            if api == "alipay.trade.refund":
                return self.refund(api, biz)
            if api == "alipay.trade.customs.declare":
                return self.declare(api, biz)
        return self.answer(
            api, {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.UNKNOWN"}
        )

    def _fail(self, api: str, sub_code: str, sub_msg: str):
        return self.answer(api, {"code": "40004", "msg": "Business Failed", "sub_code": sub_code,
                                 "sub_msg": sub_msg})  # fmt: skip

    def charge(self, api: str, params: dict, biz: dict):
        no = biz.get("out_trade_no", "")
        try:
            Decimal(biz.get("total_amount", ""))
        except ArithmeticError:
            return self._fail(api, "ACQ.INVALID_PARAMETER", "total_amount")
        self.charges.setdefault(no, {**biz, "notify_url": params.get("notify_url", ""),
                                     "return_url": params.get("return_url", ""),
                                     "trade_status": "WAIT_BUYER_PAY"})  # fmt: skip
        if api == "alipay.trade.wap.pay":  # a browser opened the signed URL: the pay page
            return self.pay_page("GET", no, b"")
        return self.answer(api, {"code": "10000", "msg": "Success", "out_trade_no": no,
                                 "qr_code": f"{self.base_url}/pay/{no}"})  # fmt: skip

    def query(self, api: str, biz: dict):
        charge = self.charges.get(biz.get("out_trade_no", ""))
        if charge is None:
            return self._fail(api, "ACQ.TRADE_NOT_EXIST", "交易不存在")
        return self.answer(api, {
            "code": "10000", "msg": "Success", "out_trade_no": charge["out_trade_no"],
            "trade_no": charge.get("trade_no", ""), "trade_status": charge["trade_status"],
            "total_amount": charge["total_amount"],
        })  # fmt: skip

    def refund(self, api: str, biz: dict):
        charge = self.charges.get(biz.get("out_trade_no", ""))
        if charge is None or charge["trade_status"] not in ("TRADE_SUCCESS", "TRADE_CLOSED"):
            return self._fail(api, "ACQ.TRADE_STATUS_ERROR", "not paid")
        amount = Decimal(biz.get("refund_amount", "0"))
        if not Decimal("0") < amount <= Decimal(charge["total_amount"]):
            return self._fail(api, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "refund_amount")
        if not any(r["out_request_no"] == biz.get("out_request_no") for r in self.refunds):
            self.refunds.append(biz)
        charge["trade_status"] = "TRADE_CLOSED"
        return self.answer(api, {
            "code": "10000", "msg": "Success", "trade_no": charge["trade_no"],
            "out_trade_no": charge["out_trade_no"], "refund_fee": biz["refund_amount"],
            "fund_change": "Y",
        })  # fmt: skip

    def declare(self, api: str, biz: dict):
        charge = next(
            (c for c in self.charges.values() if c.get("trade_no") == biz.get("trade_no")), None
        )
        if charge is None:
            return self._fail(api, "ACQ.TRADE_NOT_EXIST", "trade_no")
        for field in ("out_request_no", "merchant_customs_code", "merchant_customs_name", "amount",
                      "customs_place"):  # fmt: skip
            if not biz.get(field):
                return self._fail(api, "ACQ.INVALID_PARAMETER", field)
        self.customs.append(biz)
        paid_by = charge.get("paid_by") or {}
        same = (biz.get("buyer_name"), biz.get("buyer_id_no")) == (
            paid_by.get("name"),
            paid_by.get("number"),
        )
        if self.filer is not None:  # the payer as Alipay knows them, whoever it is
            self.filer.submit(self._payment_record(charge, biz))
        return self.answer(api, {
            "code": "10000", "msg": "Success", "trade_no": biz["trade_no"],
            "alipay_declare_no": f"2026{secrets.randbelow(10**16):016d}",
            "identity_check": "T" if same else "F", "pay_code": "31222699S7",
            "pay_transaction_id": biz["trade_no"], "ver_dept": "UNIONPAY",
            "out_request_no": biz["out_request_no"],
        })  # fmt: skip

    def _payment_record(self, charge: dict, biz: dict) -> PaymentRecord:
        """The payment as Alipay holds it: amount paid, trade number, the account's payer."""
        paid_by = charge.get("paid_by") or {}
        paid_at = datetime.strptime(charge["gmt_payment"], "%Y-%m-%d %H:%M:%S")
        return PaymentRecord(
            pay_code=self.pay_code, pay_name=self.pay_name, pay_transaction_id=charge["trade_no"],
            order_no=biz["out_request_no"], ebp_code=biz["merchant_customs_code"],
            ebp_name=biz["merchant_customs_name"], payer_name=paid_by.get("name", ""),
            payer_id_number=paid_by.get("number", ""), telephone=self.wallet_telephone,
            amount_paid=Decimal(charge["total_amount"]), pay_time=paid_at.replace(tzinfo=CST),
        )  # fmt: skip

    # --- the payer -------------------------------------------------------------------------
    def pay_page(self, method: str, no: str, body: bytes):
        charge = self.charges.get(no)
        if charge is None:
            return page("订单不存在 / No such order", "", 404)
        if method == "POST" and charge["trade_status"] == "WAIT_BUYER_PAY":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            try:
                self.pay(no, payer_name=form.get("payer_name", ""),
                         payer_id_number=form.get("payer_id_number", ""), deliver=True)  # fmt: skip
            except PermissionError as refused:
                return page("付款被拒 / Payment refused", f"<p>{refused}</p>", 403)
        if charge["trade_status"] != "WAIT_BUYER_PAY":
            back = html.escape(charge.get("return_url", ""))
            link = f"<p><a href='{back}'>返回商户 / Back to the shop</a></p>" if back else ""
            return page("支付成功 / Paid", f"<p>¥{charge['total_amount']}</p>{link}")
        holder = (charge.get("ext_user_info") or {}).get("name", "")
        return page("支付宝 / Alipay", pay_form(f"/pay/{no}", charge["total_amount"], holder))

    def pay(self, no: str, *, payer_name: str = "", payer_id_number: str = "",
            deliver: bool = False) -> bytes:  # fmt: skip
        """The payer confirms; with need_check_info T only the ext_user_info person may pay.
        Returns the signed notification (a form body)."""
        with self.lock:
            charge = self.charges[no]
            who = charge.get("ext_user_info") or {}
            name = payer_name.strip() or who.get("name", "")
            number = payer_id_number.strip().upper() or who.get("cert_no", "")
            if who.get("need_check_info") == "T" and (name, number) != (
                who.get("name"),
                who.get("cert_no"),
            ):
                raise PermissionError(
                    "付款人与指定的买家不符 / The payer is not the buyer named on the order."
                )
            now = datetime.now(CST).strftime("%Y-%m-%d %H:%M:%S")
            charge.update(trade_status="TRADE_SUCCESS", gmt_payment=now,
                          trade_no=f"2026{secrets.randbelow(10**24):024d}",
                          paid_by={"name": name, "number": number})  # fmt: skip
        body = self.notification(no)
        if deliver:
            form = "application/x-www-form-urlencoded; charset=utf-8"
            post_notification(charge["notify_url"], body, {"Content-Type": form})
        return body

    def notification(self, no: str, **changes) -> bytes:
        charge = self.charges[no]
        params = {
            "notify_time": datetime.now(CST).strftime("%Y-%m-%d %H:%M:%S"),
            "notify_type": "trade_status_sync", "notify_id": secrets.token_hex(16),
            "app_id": self.app_id, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
            "trade_no": charge["trade_no"], "out_trade_no": no,
            "trade_status": charge["trade_status"], "total_amount": charge["total_amount"],
            "receipt_amount": charge["total_amount"], "buyer_pay_amount": charge["total_amount"],
            "gmt_payment": charge["gmt_payment"], "subject": charge.get("subject", ""),
        }  # fmt: skip
        if charge.get("passback_params"):
            params["passback_params"] = charge["passback_params"]
        params.update(changes)
        params["sign"] = self.sign(unsigned_string(params, drop=("sign", "sign_type")))
        return urlencode(params).encode()
